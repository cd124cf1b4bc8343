//! The merchant flows against gateway-sim's native API.
//!
//! Every create sends `reference: <order id>` and an `Idempotency-Key`
//! (`<order id>-k<i>`); follow-ups (capture, cancel, refund) carry keys of
//! their own (`<order id>-capture`, ...). What each flow does, and what it
//! concludes:
//!
//! | flow | requests | succeeded means |
//! |---|---|---|
//! | purchase | create `capture: true` | the amount was captured |
//! | auth_capture | create `capture: false`, capture (1 in 4 partial) | the capture amount was captured |
//! | auth_cancel | create `capture: false`, cancel | nothing captured (expected_capture 0) |
//! | purchase_refund | create `capture: true`, refund (1 in 2 partial) | amount captured, refund amount refunded |
//! | double_submit | the same create twice at once, one key | either answer was a payment (original or replay) |
//! | retry_same_key | create; on timeout/reset/5xx/`in_use` retry with the same key (3 attempts), then `GET /v1/idempotency-keys/{key}` | the create (or its stored answer) was a payment |
//! | retry_new_key | create; on timeout/5xx retry with a fresh key each time (3 attempts) | the last answer was a payment |
//! | three_ds | create with a card that asks for 3-D Secure, then the buyer completes the challenge or abandons it (`three_ds.rs`) | the challenge was completed and the amount captured |
//! | checkout | a Stripe Checkout session for the order, paid on its page (`checkout.rs`) | the session completed |
//!
//! `retry_new_key` is the classic bug, played on purpose: when the first
//! attempt's charge went through but its answer was lost, the retry charges
//! again, and the checker must catch it.
//!
//! A 402 is a decline ([`ClientResult::Declined`]); any other 4xx or a 429 is
//! a refusal ([`ClientResult::Failed`]); a timeout, dropped connection or 5xx
//! leaves the client not knowing ([`ClientResult::Unknown`]).

use std::time::{Duration, Instant};

use crate::outcomes::ClientResult;
use crate::scenario::FlowKind;

use super::native_answer::{Brief, PaymentReply};
use super::order_ids::OrderPlan;
use super::session::{FlowRun, Session};
use super::transport::{ApiRequest, HttpMethod, Transport};
use super::{checkout, three_ds};

/// Create attempts the retrying flows make, the first included.
pub const MAX_CREATE_ATTEMPTS: u32 = 3;
/// Lookups of an idempotency key while the gateway says it is still in flight.
pub const MAX_LOOKUPS: u32 = 3;
/// Pause before retry `i` (1-based) is `i` times this.
pub const RETRY_BACKOFF: Duration = Duration::from_millis(50);
/// One auth_capture in this many captures part of the amount.
pub const PARTIAL_CAPTURE_ONE_IN: u64 = 4;
/// One purchase_refund in this many refunds part of the amount.
pub const PARTIAL_REFUND_ONE_IN: u64 = 2;

/// What a create led to.
#[derive(Debug, Clone, PartialEq)]
enum Created {
    /// Authorized and captured.
    Charged(String),
    /// Authorized, awaiting capture.
    Authorized(String),
    Declined,
    Failed,
    Unknown,
}

impl Created {
    fn result(&self) -> ClientResult {
        match self {
            Created::Charged(_) | Created::Authorized(_) => ClientResult::Succeeded,
            Created::Declined => ClientResult::Declined,
            Created::Failed => ClientResult::Failed,
            Created::Unknown => ClientResult::Unknown,
        }
    }
}

fn payment_status(v: &Brief) -> (Option<&str>, Option<&str>) {
    (v.id.as_deref(), v.status.as_deref())
}

/// Reads a create's reply.
fn created(reply: &PaymentReply) -> Created {
    match reply {
        PaymentReply::Ok(v) => match payment_status(v) {
            (Some(id), Some("succeeded")) => Created::Charged(id.to_string()),
            (Some(id), Some("requires_capture")) => Created::Authorized(id.to_string()),
            (Some(_), Some("failed")) => Created::Declined,
            // A 2xx that names no usable payment: the client cannot tell what happened.
            _ => Created::Unknown,
        },
        PaymentReply::Declined { .. } => Created::Declined,
        PaymentReply::Rejected { .. } => Created::Failed,
        PaymentReply::InUse | PaymentReply::NotFound | PaymentReply::Ambiguous(_) => {
            Created::Unknown
        }
    }
}

fn create_request(plan: &OrderPlan, capture: bool, key: String) -> ApiRequest {
    // Written by hand rather than through serde_json::json!: this runs for every
    // order, and every value is ours (digits, `[a-z0-9-]` ids, a validated
    // three-letter currency, a flow name), so nothing needs escaping.
    let body = format!(
        r#"{{"amount":{},"currency":"{}","payment_method":"pm_card_visa","capture":{},"reference":"{}","metadata":{{"loadgen_flow":"{}"}}}}"#,
        plan.amount,
        plan.currency,
        capture,
        plan.order_id,
        plan.flow.name()
    );
    ApiRequest {
        step: "create",
        method: HttpMethod::Post,
        path: "/v1/payments".to_string(),
        bearer: Some(plan.merchant.clone()),
        idempotency_key: Some(key),
        body: Some(body),
        headers: Vec::new(),
    }
}

fn follow_up(
    plan: &OrderPlan,
    step: &'static str,
    payment_id: &str,
    amount: Option<i64>,
) -> ApiRequest {
    let path_step = match step {
        "refund" => "refunds",
        other => other,
    };
    ApiRequest {
        step,
        method: HttpMethod::Post,
        path: format!("/v1/payments/{payment_id}/{path_step}"),
        bearer: Some(plan.merchant.clone()),
        idempotency_key: Some(plan.step_key(step)),
        body: amount.map(|a| serde_json::json!({ "amount": a }).to_string()),
        headers: Vec::new(),
    }
}

fn lookup_request(plan: &OrderPlan, key: &str) -> ApiRequest {
    ApiRequest {
        step: "lookup",
        method: HttpMethod::Get,
        path: format!("/v1/idempotency-keys/{key}"),
        bearer: Some(plan.merchant.clone()),
        idempotency_key: None,
        body: None,
        headers: Vec::new(),
    }
}

/// Plays one order of any native flow.
pub async fn play<T: Transport>(transport: &mut T, plan: &OrderPlan, due: Instant) -> FlowRun {
    let mut s = Session::new(transport, plan, due);
    let merchant = plan.merchant.clone();
    let amount = plan.amount;
    let (result, capture, refund) = match plan.flow {
        FlowKind::Purchase => {
            let c = created(&s.call(create_request(plan, true, plan.create_key(0))).await);
            (c.result(), amount, 0)
        }
        FlowKind::AuthCapture => auth_capture(&mut s).await,
        FlowKind::AuthCancel => auth_cancel(&mut s).await,
        FlowKind::PurchaseRefund => purchase_refund(&mut s).await,
        FlowKind::DoubleSubmit => {
            let key = plan.create_key(0);
            let (a, b) = s
                .call_pair(
                    create_request(plan, true, key.clone()),
                    create_request(plan, true, key),
                )
                .await;
            (double_submit_result(&a, &b), amount, 0)
        }
        FlowKind::RetrySameKey => (retry_same_key(&mut s).await, amount, 0),
        FlowKind::RetryNewKey => (retry_new_key(&mut s).await, amount, 0),
        FlowKind::ThreeDs => three_ds::play(&mut s).await,
        FlowKind::Checkout => checkout::play(&mut s).await,
    };
    s.finish(plan.flow.name(), merchant, result, capture, refund)
}

async fn auth_capture<T: Transport>(s: &mut Session<'_, T>) -> (ClientResult, i64, i64) {
    let plan = s.plan().clone();
    let partial = plan.partial_amount(PARTIAL_CAPTURE_ONE_IN);
    let to_capture = partial.unwrap_or(plan.amount);
    match created(
        &s.call(create_request(&plan, false, plan.create_key(0)))
            .await,
    ) {
        Created::Authorized(id) => {
            let reply = s.call(follow_up(&plan, "capture", &id, partial)).await;
            let result = match &reply {
                PaymentReply::Ok(v) if payment_status(v).1 == Some("succeeded") => {
                    ClientResult::Succeeded
                }
                PaymentReply::Ok(_)
                | PaymentReply::Ambiguous(_)
                | PaymentReply::InUse
                | PaymentReply::NotFound => ClientResult::Unknown,
                PaymentReply::Declined { .. } => ClientResult::Declined,
                // The authorization stands uncaptured: no money was taken.
                PaymentReply::Rejected { .. } => ClientResult::Failed,
            };
            (result, to_capture, 0)
        }
        // Captured at create although capture was false: the full amount stands.
        Created::Charged(_) => (ClientResult::Succeeded, plan.amount, 0),
        other => (other.result(), to_capture, 0),
    }
}

async fn auth_cancel<T: Transport>(s: &mut Session<'_, T>) -> (ClientResult, i64, i64) {
    let plan = s.plan().clone();
    match created(
        &s.call(create_request(&plan, false, plan.create_key(0)))
            .await,
    ) {
        Created::Authorized(id) => {
            let reply = s.call(follow_up(&plan, "cancel", &id, None)).await;
            let result = match &reply {
                PaymentReply::Ok(v) if payment_status(v).1 == Some("canceled") => {
                    ClientResult::Succeeded
                }
                PaymentReply::Rejected { .. } | PaymentReply::Declined { .. } => {
                    ClientResult::Failed
                }
                _ => ClientResult::Unknown,
            };
            (result, 0, 0)
        }
        Created::Charged(_) => (ClientResult::Unknown, 0, 0),
        other => (other.result(), 0, 0),
    }
}

async fn purchase_refund<T: Transport>(s: &mut Session<'_, T>) -> (ClientResult, i64, i64) {
    let plan = s.plan().clone();
    let partial = plan.partial_amount(PARTIAL_REFUND_ONE_IN);
    let to_refund = partial.unwrap_or(plan.amount);
    match created(
        &s.call(create_request(&plan, true, plan.create_key(0)))
            .await,
    ) {
        Created::Charged(id) => {
            let reply = s.call(follow_up(&plan, "refund", &id, partial)).await;
            match &reply {
                PaymentReply::Ok(_) => (ClientResult::Succeeded, plan.amount, to_refund),
                // The refund was refused: the charge stands, nothing refunded.
                PaymentReply::Rejected { .. } | PaymentReply::Declined { .. } => {
                    (ClientResult::Succeeded, plan.amount, 0)
                }
                _ => (ClientResult::Unknown, plan.amount, to_refund),
            }
        }
        // Authorized only, although capture was true: nothing was captured.
        Created::Authorized(_) => (ClientResult::Unknown, plan.amount, to_refund),
        other => (other.result(), plan.amount, to_refund),
    }
}

/// Either answer a payment → succeeded; else a decline → declined; else
/// unknown if either was ambiguous or in use; else failed. A 409 `in_use` for
/// one of the two is the expected answer to a double click, not a failure.
fn double_submit_result(a: &PaymentReply, b: &PaymentReply) -> ClientResult {
    let results = [created(a).result(), created(b).result()];
    let any = |r: ClientResult| results.contains(&r);
    if any(ClientResult::Succeeded) {
        ClientResult::Succeeded
    } else if any(ClientResult::Declined) {
        ClientResult::Declined
    } else if any(ClientResult::Unknown) {
        ClientResult::Unknown
    } else {
        ClientResult::Failed
    }
}

async fn retry_same_key<T: Transport>(s: &mut Session<'_, T>) -> ClientResult {
    let plan = s.plan().clone();
    let key = plan.create_key(0);
    for attempt in 0..MAX_CREATE_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(RETRY_BACKOFF * attempt).await;
        }
        let reply = s.call(create_request(&plan, true, key.clone())).await;
        if reply.is_definitive() {
            return created(&reply).result();
        }
    }
    // Still unknown: ask the gateway what it stored under the key.
    for lookup in 0..MAX_LOOKUPS {
        if lookup > 0 {
            tokio::time::sleep(RETRY_BACKOFF * 2).await;
        }
        match s.call(lookup_request(&plan, &key)).await {
            PaymentReply::Ok(v) => match stored_answer(&v) {
                Some(result) => return result,
                // In flight: the first attempt is still running; ask again.
                None => continue,
            },
            // 404: the gateway never stored the key. It may still be about to (a
            // request held up on its way), so this is not proof of failure.
            _ => return ClientResult::Unknown,
        }
    }
    ClientResult::Unknown
}

/// The result stored under a completed idempotency key; `None` while in flight.
fn stored_answer(v: &Brief) -> Option<ClientResult> {
    if v.status.as_deref() != Some("completed") {
        return None;
    }
    let response = v.response.as_ref();
    let body = response
        .and_then(|r| r.body.as_deref())
        .cloned()
        .unwrap_or_default();
    let result = match response.and_then(|r| r.status) {
        Some(200..=299) => created(&PaymentReply::Ok(body)).result(),
        Some(402) => ClientResult::Declined,
        Some(400..=499) => ClientResult::Failed,
        _ => ClientResult::Unknown,
    };
    Some(result)
}

async fn retry_new_key<T: Transport>(s: &mut Session<'_, T>) -> ClientResult {
    let plan = s.plan().clone();
    let mut last = ClientResult::Unknown;
    for attempt in 0..MAX_CREATE_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(RETRY_BACKOFF * attempt).await;
        }
        // The bug: a fresh key makes the retry a brand-new payment.
        let reply = s
            .call(create_request(&plan, true, plan.create_key(attempt)))
            .await;
        last = created(&reply).result();
        if reply.is_definitive() {
            break;
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::order_ids::OrderIds;
    use crate::flows::scripted::{Scripted, json, payment};
    use crate::flows::transport::{HttpAnswer, TransportFailure};
    use crate::scenario::Scenario;

    fn plan_for(flow: FlowKind) -> OrderPlan {
        let load = Scenario::parse("[load]\nseed = 3\n", "t", "t.toml")
            .expect("valid")
            .load;
        let mut plan = OrderPlan::new(&load, &OrderIds::new(3, ""), 11);
        plan.flow = flow;
        plan
    }

    fn body_of(r: &ApiRequest) -> serde_json::Value {
        serde_json::from_str(r.body.as_deref().unwrap_or("null")).expect("json body")
    }

    async fn play_script(
        flow: FlowKind,
        script: Vec<Result<HttpAnswer, TransportFailure>>,
    ) -> (FlowRun, Scripted) {
        let plan = plan_for(flow);
        let mut t = Scripted::new(script);
        let run = play(&mut t, &plan, Instant::now()).await;
        (run, t)
    }

    fn declined() -> Result<HttpAnswer, TransportFailure> {
        json(
            402,
            serde_json::json!({"error": {"type": "card_error", "code": "card_declined",
                "decline_code": "insufficient_funds", "payment_id": "pay_d"}}),
        )
    }

    #[tokio::test]
    async fn purchase_creates_with_reference_key_and_capture() {
        let plan = plan_for(FlowKind::Purchase);
        let (run, t) = play_script(
            FlowKind::Purchase,
            vec![json(
                200,
                payment("pay_1", "succeeded", plan.amount, plan.amount),
            )],
        )
        .await;
        assert_eq!(t.sent.len(), 1);
        let req = &t.sent[0];
        assert_eq!(req.path, "/v1/payments");
        assert_eq!(req.bearer.as_deref(), Some("sk_test_loadgen_0"));
        assert_eq!(req.idempotency_key.as_deref(), Some("ord-3-11-k0"));
        let body = body_of(req);
        assert_eq!(body["reference"], "ord-3-11");
        assert_eq!(body["capture"], true);
        assert_eq!(body["amount"], plan.amount);
        let o = &run.outcome;
        assert_eq!(o.result, ClientResult::Succeeded);
        assert_eq!(o.expected_capture, plan.amount);
        assert_eq!(o.attempts[0].payment_id.as_deref(), Some("pay_1"));
        assert_eq!(o.flow, "purchase");
        assert_eq!(run.timings.len(), 1);
        assert!(run.timings[0].ok());
    }

    #[tokio::test]
    async fn purchase_reads_declines_refusals_and_timeouts() {
        let (run, _) = play_script(FlowKind::Purchase, vec![declined()]).await;
        assert_eq!(run.outcome.result, ClientResult::Declined);
        assert_eq!(run.outcome.attempts[0].payment_id.as_deref(), Some("pay_d"));
        assert!(run.timings[0].ok(), "a decline is an answer, not an error");

        let (run, _) = play_script(
            FlowKind::Purchase,
            vec![json(
                400,
                serde_json::json!({"error": {"code": "amount_too_large"}}),
            )],
        )
        .await;
        assert_eq!(run.outcome.result, ClientResult::Failed);
        assert!(!run.timings[0].ok());

        let (run, _) = play_script(FlowKind::Purchase, vec![Err(TransportFailure::Timeout)]).await;
        assert_eq!(run.outcome.result, ClientResult::Unknown);
        assert_eq!(run.outcome.attempts[0].status, None);
        assert_eq!(run.outcome.attempts[0].error.as_deref(), Some("timeout"));
    }

    #[tokio::test]
    async fn auth_capture_captures_the_planned_amount() {
        // Find an order whose capture is partial and one whose capture is full.
        let load = Scenario::parse("[load]\nseed = 3\n", "t", "t.toml")
            .expect("valid")
            .load;
        let ids = OrderIds::new(3, "");
        let mut seen_partial = false;
        let mut seen_full = false;
        for n in 0..40 {
            let mut plan = OrderPlan::new(&load, &ids, n);
            plan.flow = FlowKind::AuthCapture;
            let partial = plan.partial_amount(PARTIAL_CAPTURE_ONE_IN);
            let captured = partial.unwrap_or(plan.amount);
            let mut t = Scripted::new(vec![
                json(200, payment("pay_a", "requires_capture", plan.amount, 0)),
                json(200, payment("pay_a", "succeeded", plan.amount, captured)),
            ]);
            let run = play(&mut t, &plan, Instant::now()).await;
            assert_eq!(body_of(&t.sent[0])["capture"], false);
            assert_eq!(t.sent[1].path, "/v1/payments/pay_a/capture");
            assert_eq!(
                t.sent[1].idempotency_key.as_deref(),
                Some(format!("{}-capture", plan.order_id).as_str())
            );
            match partial {
                Some(part) => {
                    seen_partial = true;
                    assert_eq!(body_of(&t.sent[1])["amount"], part);
                }
                None => {
                    seen_full = true;
                    assert!(t.sent[1].body.is_none());
                }
            }
            assert_eq!(run.outcome.result, ClientResult::Succeeded);
            assert_eq!(run.outcome.expected_capture, captured);
        }
        assert!(seen_partial && seen_full);
    }

    #[tokio::test]
    async fn auth_cancel_expects_nothing_captured() {
        let plan = plan_for(FlowKind::AuthCancel);
        let (run, t) = play_script(
            FlowKind::AuthCancel,
            vec![
                json(200, payment("pay_c", "requires_capture", plan.amount, 0)),
                json(200, payment("pay_c", "canceled", plan.amount, 0)),
            ],
        )
        .await;
        assert_eq!(t.sent[1].path, "/v1/payments/pay_c/cancel");
        assert_eq!(run.outcome.result, ClientResult::Succeeded);
        assert_eq!(run.outcome.expected_capture, 0);
    }

    #[tokio::test]
    async fn purchase_refund_expects_the_refund() {
        let plan = plan_for(FlowKind::PurchaseRefund);
        let refund = plan
            .partial_amount(PARTIAL_REFUND_ONE_IN)
            .unwrap_or(plan.amount);
        let (run, t) = play_script(
            FlowKind::PurchaseRefund,
            vec![
                json(200, payment("pay_r", "succeeded", plan.amount, plan.amount)),
                json(
                    200,
                    serde_json::json!({"id": "re_1", "object": "refund", "amount": refund,
                        "payment_id": "pay_r"}),
                ),
            ],
        )
        .await;
        assert_eq!(t.sent[1].path, "/v1/payments/pay_r/refunds");
        assert_eq!(run.outcome.result, ClientResult::Succeeded);
        assert_eq!(run.outcome.expected_capture, plan.amount);
        assert_eq!(run.outcome.expected_refund, refund);

        // A refused refund leaves the charge standing and nothing refunded.
        let (run, _) = play_script(
            FlowKind::PurchaseRefund,
            vec![
                json(200, payment("pay_r", "succeeded", plan.amount, plan.amount)),
                json(409, serde_json::json!({"error": {"code": "invalid_state"}})),
            ],
        )
        .await;
        assert_eq!(run.outcome.result, ClientResult::Succeeded);
        assert_eq!(run.outcome.expected_refund, 0);
    }

    #[tokio::test]
    async fn double_submit_sends_one_key_twice_and_accepts_in_use() {
        let plan = plan_for(FlowKind::DoubleSubmit);
        let in_use = || {
            json(
                409,
                serde_json::json!({"error": {"code": "idempotency_key_in_use"}}),
            )
        };
        let (run, t) = play_script(
            FlowKind::DoubleSubmit,
            vec![
                json(200, payment("pay_x", "succeeded", plan.amount, plan.amount)),
                in_use(),
            ],
        )
        .await;
        assert_eq!(t.sent.len(), 2);
        assert_eq!(t.sent[0], t.sent[1], "byte-identical requests, same key");
        assert_eq!(run.outcome.result, ClientResult::Succeeded);
        assert_eq!(run.outcome.attempts.len(), 2);
        assert!(run.timings.iter().all(|t| t.ok()));

        let (run, _) = play_script(FlowKind::DoubleSubmit, vec![in_use(), declined()]).await;
        assert_eq!(run.outcome.result, ClientResult::Declined);
        let (run, _) = play_script(
            FlowKind::DoubleSubmit,
            vec![in_use(), Err(TransportFailure::Timeout)],
        )
        .await;
        assert_eq!(run.outcome.result, ClientResult::Unknown);
    }

    #[tokio::test]
    async fn retry_same_key_retries_with_one_key_then_looks_it_up() {
        let plan = plan_for(FlowKind::RetrySameKey);
        let (run, t) = play_script(
            FlowKind::RetrySameKey,
            vec![
                Err(TransportFailure::Timeout),
                json(500, serde_json::json!({"error": {"code": "api_error"}})),
                Err(TransportFailure::Connection("reset".into())),
                json(
                    200,
                    serde_json::json!({"key": "ord-3-11-k0", "status": "completed",
                        "response": {"status": 200,
                            "body": payment("pay_s", "succeeded", plan.amount, plan.amount)}}),
                ),
            ],
        )
        .await;
        let keys: Vec<_> = t.sent.iter().map(|r| r.idempotency_key.clone()).collect();
        assert_eq!(
            keys,
            vec![
                Some("ord-3-11-k0".to_string()),
                Some("ord-3-11-k0".to_string()),
                Some("ord-3-11-k0".to_string()),
                None
            ]
        );
        assert_eq!(t.sent[3].path, "/v1/idempotency-keys/ord-3-11-k0");
        assert_eq!(run.outcome.result, ClientResult::Succeeded);
        assert_eq!(run.outcome.payment_ids(), vec!["pay_s".to_string()]);
        assert_eq!(
            run.outcome.idempotency_keys(),
            vec!["ord-3-11-k0".to_string()]
        );
    }

    #[tokio::test]
    async fn retry_same_key_stops_at_the_first_real_answer() {
        let plan = plan_for(FlowKind::RetrySameKey);
        let (run, t) = play_script(
            FlowKind::RetrySameKey,
            vec![
                Err(TransportFailure::Timeout),
                json(200, payment("pay_s", "succeeded", plan.amount, plan.amount)),
            ],
        )
        .await;
        assert_eq!(t.sent.len(), 2);
        assert_eq!(run.outcome.result, ClientResult::Succeeded);

        // Never answered, key unknown to the gateway: still unknown, not failed.
        let (run, _) = play_script(
            FlowKind::RetrySameKey,
            vec![
                Err(TransportFailure::Timeout),
                Err(TransportFailure::Timeout),
                Err(TransportFailure::Timeout),
                json(
                    404,
                    serde_json::json!({"error": {"code": "resource_missing"}}),
                ),
            ],
        )
        .await;
        assert_eq!(run.outcome.result, ClientResult::Unknown);
    }

    #[tokio::test]
    async fn retry_new_key_uses_a_fresh_key_each_time() {
        let plan = plan_for(FlowKind::RetryNewKey);
        let (run, t) = play_script(
            FlowKind::RetryNewKey,
            vec![
                Err(TransportFailure::Timeout),
                json(200, payment("pay_n", "succeeded", plan.amount, plan.amount)),
            ],
        )
        .await;
        let keys: Vec<_> = t
            .sent
            .iter()
            .filter_map(|r| r.idempotency_key.clone())
            .collect();
        assert_eq!(keys, vec!["ord-3-11-k0", "ord-3-11-k1"]);
        // Both creates carry the same reference: the checker matches them to one order.
        assert!(t.sent.iter().all(|r| body_of(r)["reference"] == "ord-3-11"));
        assert_eq!(run.outcome.result, ClientResult::Succeeded);
        assert_eq!(run.outcome.idempotency_keys().len(), 2);
    }
}
