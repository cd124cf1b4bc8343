//! The `checkout` flow: a Stripe Checkout order. The merchant creates a session for the
//! order (`POST /v1/checkout/sessions`, one line item of the order's amount, the order id as
//! `client_reference_id`), and the buyer pays it on the hosted page's script endpoint
//! (`POST /_sim/checkout/{id}/pay` with `pm_card_visa`). The gateway makes the session's
//! payment with the order id as its reference, so the money check treats the order like a
//! purchase: paid, exactly the amount captured, once.
//!
//! A buyer who got no answer from Pay does what a real one can: reads the session
//! (`GET /v1/checkout/sessions/{id}`), and pays again only while it is still open. A
//! session takes one payment, so this retry can never charge twice; the check would catch
//! it if it did.
//!
//! Its own file because it speaks the Stripe dialect (form bodies, `cs_test_` ids) and
//! reads sessions rather than payments.

use std::time::Duration;

use crate::outcomes::ClientResult;

use super::native_answer::PaymentReply;
use super::session::Session;
use super::transport::{ApiRequest, HttpMethod, Transport};

/// Pay attempts a buyer makes while the session stays open, the first included.
pub const MAX_PAY_ATTEMPTS: u32 = 3;
/// Pause before pay attempt `i` (1-based) is `i` times this.
const RETRY_BACKOFF: Duration = Duration::from_millis(50);
/// Where the buyer would land once paid; never fetched (load has no browser).
const SUCCESS_URL: &str =
    "https%3A%2F%2Fmerchant.example%2Forders%2Fpaid%3Fsession%3D%7BCHECKOUT_SESSION_ID%7D";

/// Plays one `checkout` order: (client result, expected capture, expected refund).
pub(super) async fn play<T: Transport>(s: &mut Session<'_, T>) -> (ClientResult, i64, i64) {
    let plan = s.plan().clone();
    // Order ids are `[a-z0-9-]` and the currency three letters: nothing to percent-encode.
    let body = format!(
        "mode=payment&client_reference_id={order}\
         &line_items[0][price_data][currency]={currency}\
         &line_items[0][price_data][unit_amount]={amount}\
         &line_items[0][price_data][product_data][name]=Order+{order}\
         &line_items[0][quantity]=1&success_url={SUCCESS_URL}\
         &metadata[loadgen_flow]=checkout",
        order = plan.order_id,
        currency = plan.currency,
        amount = plan.amount,
    );
    let create = ApiRequest {
        step: "session",
        method: HttpMethod::Post,
        path: "/v1/checkout/sessions".to_string(),
        bearer: Some(plan.merchant.clone()),
        idempotency_key: Some(plan.step_key("session")),
        body: Some(body),
        headers: vec![(
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        )],
    };
    let session_id = match s.call(create).await {
        PaymentReply::Ok(v) => match v.id {
            Some(id) if id.starts_with("cs_") => id,
            _ => return (ClientResult::Unknown, plan.amount, 0),
        },
        PaymentReply::Rejected { .. } | PaymentReply::Declined { .. } | PaymentReply::NotFound => {
            return (ClientResult::Failed, 0, 0);
        }
        // No session the buyer could be sent to; nothing can have been paid.
        PaymentReply::InUse | PaymentReply::Ambiguous(_) => return (ClientResult::Failed, 0, 0),
    };
    for attempt in 1..=MAX_PAY_ATTEMPTS {
        if attempt > 1 {
            tokio::time::sleep(RETRY_BACKOFF * (attempt - 1)).await;
        }
        let pay = ApiRequest {
            step: "pay",
            method: HttpMethod::Post,
            path: format!("/_sim/checkout/{session_id}/pay"),
            // The buyer's browser: no API key, no idempotency key.
            bearer: None,
            idempotency_key: None,
            body: Some(r#"{"payment_method":"pm_card_visa"}"#.to_string()),
            headers: Vec::new(),
        };
        match s.call(pay).await {
            PaymentReply::Ok(v) if v.status.as_deref() == Some("complete") => {
                return (ClientResult::Succeeded, plan.amount, 0);
            }
            PaymentReply::Declined { .. } => return (ClientResult::Declined, 0, 0),
            // Refused (a session already paid or expired answers 409): read it back.
            PaymentReply::Ok(_)
            | PaymentReply::Rejected { .. }
            | PaymentReply::NotFound
            | PaymentReply::InUse
            | PaymentReply::Ambiguous(_) => {}
        }
        let lookup = ApiRequest {
            step: "lookup",
            method: HttpMethod::Get,
            path: format!("/v1/checkout/sessions/{session_id}"),
            bearer: Some(plan.merchant.clone()),
            idempotency_key: None,
            body: None,
            headers: Vec::new(),
        };
        match s.call(lookup).await {
            PaymentReply::Ok(v) if v.status.as_deref() == Some("complete") => {
                return (ClientResult::Succeeded, plan.amount, 0);
            }
            PaymentReply::Ok(v) if v.status.as_deref() == Some("expired") => {
                return (ClientResult::Failed, 0, 0);
            }
            // Still open: nothing was paid, so paying again is safe.
            PaymentReply::Ok(v) if v.status.as_deref() == Some("open") => {}
            _ => return (ClientResult::Unknown, plan.amount, 0),
        }
    }
    // Open after every attempt: the buyer gave up, nothing was charged.
    (ClientResult::Failed, 0, 0)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::flows::native::play as play_native;
    use crate::flows::order_ids::{OrderIds, OrderPlan};
    use crate::flows::scripted::{Scripted, json};
    use crate::flows::transport::TransportFailure;
    use crate::scenario::{FlowKind, Scenario};

    fn plan() -> OrderPlan {
        let load = Scenario::parse("[load]\nseed = 3\n", "t", "t.toml")
            .expect("valid")
            .load;
        let mut plan = OrderPlan::new(&load, &OrderIds::new(3, ""), 11);
        plan.flow = FlowKind::Checkout;
        plan
    }

    fn session(status: &str) -> serde_json::Value {
        serde_json::json!({"id": "cs_test_1", "object": "checkout.session", "status": status})
    }

    #[tokio::test]
    async fn a_session_is_created_for_the_order_and_paid_on_its_page() {
        let plan = plan();
        let mut t = Scripted::new(vec![
            json(200, session("open")),
            json(200, session("complete")),
        ]);
        let run = play_native(&mut t, &plan, Instant::now()).await;
        let create = &t.sent[0];
        assert_eq!(create.path, "/v1/checkout/sessions");
        let body = create.body.as_deref().unwrap();
        assert!(body.contains(&format!("client_reference_id={}", plan.order_id)));
        assert!(body.contains(&format!(
            "line_items[0][price_data][unit_amount]={}",
            plan.amount
        )));
        assert_eq!(t.sent[1].path, "/_sim/checkout/cs_test_1/pay");
        assert_eq!(t.sent[1].bearer, None);
        let o = &run.outcome;
        assert_eq!(o.flow, "checkout");
        assert_eq!(
            (o.result, o.expected_capture),
            (ClientResult::Succeeded, plan.amount)
        );
    }

    #[tokio::test]
    async fn a_lost_pay_answer_is_read_back_and_paid_again_only_while_open() {
        let plan = plan();
        let mut t = Scripted::new(vec![
            json(200, session("open")),
            Err(TransportFailure::Timeout),
            json(200, session("open")),
            json(200, session("complete")),
        ]);
        let run = play_native(&mut t, &plan, Instant::now()).await;
        let steps: Vec<_> = t.sent.iter().map(|r| r.step).collect();
        assert_eq!(steps, ["session", "pay", "lookup", "pay"]);
        assert_eq!(run.outcome.result, ClientResult::Succeeded);

        let mut t = Scripted::new(vec![
            json(200, session("open")),
            json(500, serde_json::json!({"error": {"code": "api_error"}})),
            json(200, session("complete")),
        ]);
        let run = play_native(&mut t, &plan, Instant::now()).await;
        assert_eq!(t.sent.len(), 3, "paid already: no second pay");
        assert_eq!(run.outcome.result, ClientResult::Succeeded);

        let declined = json(
            402,
            serde_json::json!({"error": {"type": "card_error", "code": "card_declined"}}),
        );
        let mut t = Scripted::new(vec![json(200, session("open")), declined]);
        let run = play_native(&mut t, &plan, Instant::now()).await;
        assert_eq!(run.outcome.result, ClientResult::Declined);
        assert_eq!(run.outcome.expected_capture, 0);
    }
}
