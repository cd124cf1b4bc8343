//! The `three_ds` flow: a purchase with a card that asks for 3-D Secure (test card
//! 4000002760003184), whose buyer then answers the challenge page the gateway names
//! (`POST /_sim/3ds/{id}` with `outcome=complete`), or walks away from it: one order in
//! `[load.three_ds] abandon`, drawn from the seed per order.
//!
//! Its own file because it is the one native flow with a buyer in it: the order's money
//! depends on a request the merchant does not send, and its outcome says how the challenge
//! ended ([`ChallengeEnd`]) so the money check can count challenges and hold an abandoned
//! or failed one to "no money moved".
//!
//! | the buyer | client result | expected capture |
//! |---|---|---|
//! | completes, the payment succeeds | succeeded | the amount |
//! | abandons (sends nothing) | declined | 0 |
//! | completes, the gateway says the payment failed, or refuses the answer | declined / failed | 0 |
//! | completes, no answer comes back | unknown | the amount, if it did go through |
//!
//! An abandoned or failed challenge is a `declined` order: the buyer did not authenticate,
//! which is how Stripe reports it (`payment_intent_authentication_failure`, a card error),
//! and the money check's rule for a declined order is the one wanted: any money left
//! captured is an orphan charge.

use crate::outcomes::{ChallengeEnd, ClientResult};

use super::native_answer::PaymentReply;
use super::session::Session;
use super::transport::{ApiRequest, HttpMethod, Transport};

/// The native test card whose payments ask for 3-D Secure.
pub const CHALLENGE_CARD: &str = "4000002760003184";

/// Where a challenge page's path starts in its `action_url`.
const CHALLENGE_PATH: &str = "/_sim/3ds/";

/// Plays one `three_ds` order: (client result, expected capture, expected refund).
pub(super) async fn play<T: Transport>(s: &mut Session<'_, T>) -> (ClientResult, i64, i64) {
    let plan = s.plan().clone();
    let create = ApiRequest {
        step: "create",
        method: HttpMethod::Post,
        path: "/v1/payments".to_string(),
        bearer: Some(plan.merchant.clone()),
        idempotency_key: Some(plan.create_key(0)),
        // Written by hand as in `native.rs`: every value is ours and needs no escaping.
        body: Some(format!(
            r#"{{"amount":{},"currency":"{}","card":{{"number":"{CHALLENGE_CARD}","exp_month":12,"exp_year":2034}},"capture":true,"reference":"{}","metadata":{{"loadgen_flow":"three_ds"}}}}"#,
            plan.amount, plan.currency, plan.order_id
        )),
        headers: Vec::new(),
    };
    let reply = s.call(create).await;
    let challenge_path = match &reply {
        PaymentReply::Ok(v) if v.status.as_deref() == Some("requires_action") => {
            v.action_url.as_deref().and_then(challenge_path)
        }
        // No challenge asked: the card went straight through, or was declined.
        PaymentReply::Ok(v) if v.status.as_deref() == Some("succeeded") => {
            return (ClientResult::Succeeded, plan.amount, 0);
        }
        PaymentReply::Ok(v) if v.status.as_deref() == Some("failed") => {
            return (ClientResult::Declined, 0, 0);
        }
        PaymentReply::Declined { .. } => return (ClientResult::Declined, 0, 0),
        PaymentReply::Rejected { .. } => return (ClientResult::Failed, 0, 0),
        PaymentReply::Ok(_)
        | PaymentReply::InUse
        | PaymentReply::NotFound
        | PaymentReply::Ambiguous(_) => return (ClientResult::Unknown, plan.amount, 0),
    };
    let Some(path) = challenge_path else {
        // requires_action without a page to answer: the buyer cannot go on.
        s.challenge = Some(ChallengeEnd::Failed);
        return (ClientResult::Failed, 0, 0);
    };
    if plan.abandons_challenge {
        s.challenge = Some(ChallengeEnd::Abandoned);
        return (ClientResult::Declined, 0, 0);
    }
    let answer = ApiRequest {
        step: "challenge",
        method: HttpMethod::Post,
        path,
        // The buyer's browser: no API key, no idempotency key.
        bearer: None,
        idempotency_key: None,
        body: Some(r#"{"outcome":"complete"}"#.to_string()),
        headers: Vec::new(),
    };
    let (end, result, capture) = match s.call(answer).await {
        PaymentReply::Ok(v) => match v.status.as_deref() {
            Some("succeeded") => (
                ChallengeEnd::Completed,
                ClientResult::Succeeded,
                plan.amount,
            ),
            Some("failed") | Some("requires_payment_method") => {
                (ChallengeEnd::Failed, ClientResult::Declined, 0)
            }
            _ => (ChallengeEnd::Unknown, ClientResult::Unknown, plan.amount),
        },
        // Already answered, timed out by the gateway, or no such challenge: not paid.
        PaymentReply::Rejected { .. } | PaymentReply::NotFound | PaymentReply::Declined { .. } => {
            (ChallengeEnd::Failed, ClientResult::Failed, 0)
        }
        PaymentReply::InUse | PaymentReply::Ambiguous(_) => {
            (ChallengeEnd::Unknown, ClientResult::Unknown, plan.amount)
        }
    };
    s.challenge = Some(end);
    (result, capture, 0)
}

/// The path (and query) of a challenge page from its absolute `action_url`: requests are
/// joined to the run's host, which may be reached by another name than the gateway's own.
fn challenge_path(action_url: &str) -> Option<String> {
    action_url
        .find(CHALLENGE_PATH)
        .map(|at| action_url[at..].to_string())
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::flows::native::play as play_native;
    use crate::flows::order_ids::{OrderIds, OrderPlan};
    use crate::flows::scripted::{Scripted, json, payment};
    use crate::scenario::{FlowKind, Scenario};

    fn plan(abandons: bool) -> OrderPlan {
        let load = Scenario::parse("[load]\nseed = 3\n", "t", "t.toml")
            .expect("valid")
            .load;
        let mut plan = OrderPlan::new(&load, &OrderIds::new(3, ""), 11);
        plan.flow = FlowKind::ThreeDs;
        plan.abandons_challenge = abandons;
        plan
    }

    fn requires_action(amount: i64) -> serde_json::Value {
        let mut p = payment("pay_3", "requires_action", amount, 0);
        p["action_url"] = "http://sim.local:4242/_sim/3ds/pay_3".into();
        p
    }

    #[tokio::test]
    async fn a_completed_challenge_is_a_purchase_answered_on_the_page_it_names() {
        let plan = plan(false);
        let mut t = Scripted::new(vec![
            json(200, requires_action(plan.amount)),
            json(
                200,
                serde_json::json!({"id": "pay_3", "status": "succeeded"}),
            ),
        ]);
        let run = play_native(&mut t, &plan, Instant::now()).await;
        let body: serde_json::Value =
            serde_json::from_str(t.sent[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(body["card"]["number"], CHALLENGE_CARD);
        assert_eq!(body["reference"], plan.order_id);
        assert_eq!(
            t.sent[1].path, "/_sim/3ds/pay_3",
            "joined to the run's host"
        );
        assert_eq!(t.sent[1].bearer, None);
        assert_eq!(t.sent[1].body.as_deref(), Some(r#"{"outcome":"complete"}"#));
        let o = &run.outcome;
        assert_eq!(o.flow, "three_ds");
        assert_eq!(o.challenge, Some(ChallengeEnd::Completed));
        assert_eq!(
            (o.result, o.expected_capture),
            (ClientResult::Succeeded, plan.amount)
        );
    }

    #[tokio::test]
    async fn an_abandoned_challenge_sends_nothing_more_and_expects_no_money() {
        let plan = plan(true);
        let mut t = Scripted::new(vec![json(200, requires_action(plan.amount))]);
        let run = play_native(&mut t, &plan, Instant::now()).await;
        assert_eq!(t.sent.len(), 1, "the buyer walked away");
        let o = &run.outcome;
        assert_eq!(o.challenge, Some(ChallengeEnd::Abandoned));
        assert_eq!((o.result, o.expected_capture), (ClientResult::Declined, 0));
    }

    #[tokio::test]
    async fn a_refused_or_failed_answer_is_a_failed_challenge() {
        let plan = plan(false);
        for (answer, result) in [
            (
                json(200, serde_json::json!({"id": "pay_3", "status": "failed"})),
                ClientResult::Declined,
            ),
            (
                json(409, serde_json::json!({"error": {"code": "invalid_state"}})),
                ClientResult::Failed,
            ),
        ] {
            let mut t = Scripted::new(vec![json(200, requires_action(plan.amount)), answer]);
            let run = play_native(&mut t, &plan, Instant::now()).await;
            assert_eq!(run.outcome.challenge, Some(ChallengeEnd::Failed));
            assert_eq!(run.outcome.result, result);
            assert_eq!(run.outcome.expected_capture, 0);
        }
        let mut t = Scripted::new(vec![
            json(200, requires_action(plan.amount)),
            Err(crate::flows::transport::TransportFailure::Timeout),
        ]);
        let run = play_native(&mut t, &plan, Instant::now()).await;
        assert_eq!(run.outcome.challenge, Some(ChallengeEnd::Unknown));
        assert_eq!(run.outcome.result, ClientResult::Unknown);
    }
}
