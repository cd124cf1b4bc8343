//! `--service` mode: one request per order to a merchant's own payment service,
//! built from the scenario's `[target]` template (see [`TargetTemplate`]).
//!
//! loadgen does not know which API key the service uses, so outcomes carry an
//! empty merchant and the check matches the ledger by reference (the order id,
//! which the service must pass to the gateway as `reference`). The order's
//! idempotency key (`<order id>-k0`) is offered through `{{idempotency_key}}`;
//! whether the service forwards it is up to the service.

use std::time::Instant;

use crate::outcomes::ClientResult;
use crate::scenario::{SecondStep, StepRequest, TargetTemplate, Template, TemplateValues};

use super::error_kind::ErrorKind;
use super::order_ids::{OrderPlan, draw, salt};
use super::session::{FlowRun, Session};
use super::transport::{ApiRequest, HttpAnswer, HttpMethod, Transport, TransportFailure};

/// Builds the request for `plan` from the template.
pub fn build_request(template: &TargetTemplate, plan: &OrderPlan) -> ApiRequest {
    let parts = RequestParts {
        method: &template.method,
        path: &template.path,
        headers: &template.headers,
        body: template.body.as_ref(),
    };
    parts.render("service", plan)
}

/// Builds a two-step service's second request (`step` names it in the outcome).
fn build_step(request: &StepRequest, step: &'static str, plan: &OrderPlan) -> ApiRequest {
    let parts = RequestParts {
        method: &request.method,
        path: &request.path,
        headers: &request.headers,
        body: request.body.as_ref(),
    };
    parts.render(step, plan)
}

/// The templates of one request, `[target]`'s or a step's.
struct RequestParts<'t> {
    method: &'t str,
    path: &'t Template,
    headers: &'t [(String, Template)],
    body: Option<&'t Template>,
}

impl RequestParts<'_> {
    fn render(&self, step: &'static str, plan: &OrderPlan) -> ApiRequest {
        let key = plan.create_key(0);
        let values = TemplateValues {
            order_id: &plan.order_id,
            amount: plan.amount,
            currency: &plan.currency,
            idempotency_key: &key,
        };
        ApiRequest {
            step,
            // The templates were validated when the scenario was read.
            method: HttpMethod::parse(self.method).unwrap_or(HttpMethod::Post),
            path: self.path.render(&values),
            bearer: None,
            idempotency_key: None,
            body: self.body.map(|b| b.render(&values)),
            headers: self
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.render(&values)))
                .collect(),
        }
    }
}

/// Whether this order is voided rather than captured: fixed by the run's seed and the order.
fn voids(second: &SecondStep, plan: &OrderPlan) -> bool {
    second.void.is_some()
        && (draw(plan.seed, plan.n, salt::VOID) as f64 / u64::MAX as f64) < second.void_share
}

/// Plays one order against the service.
pub async fn play<T: Transport>(
    transport: &mut T,
    template: &TargetTemplate,
    plan: &OrderPlan,
    due: Instant,
) -> FlowRun {
    let request = build_request(template, plan);
    let key = plan.create_key(0);
    let mut s = Session::new(transport, plan, due);
    let exchange = s.transport.send(&request).await;
    let result = match &exchange.answer {
        Err(_) => ClientResult::Unknown,
        Ok(answer) if template.success.matches(answer.status, &answer.body) => {
            ClientResult::Succeeded
        }
        Ok(answer) if template.decline.matches(answer.status, &answer.body) => {
            ClientResult::Declined
        }
        Ok(answer)
            if template
                .accepted
                .as_ref()
                .is_some_and(|rule| rule.matches(answer.status, &answer.body)) =>
        {
            ClientResult::Accepted
        }
        Ok(answer) if answer.status >= 500 => ClientResult::Unknown,
        Ok(_) => ClientResult::Failed,
    };
    let intended = s.intended(exchange.sent);
    s.note(&request, &exchange, intended);
    judged_by_template(&mut s, result, Some(key), &exchange.answer);
    let Some(second) = &template.second_step else {
        return s.finish("service", String::new(), result, plan.amount, 0);
    };
    if result != ClientResult::Succeeded {
        // Not authorized (declined, refused or unknown): nothing to capture or void.
        return s.finish("service", String::new(), result, 0, 0);
    }
    // Authorized: the second step decides whether money moves.
    let (step, name, captures) = match &second.void {
        Some(void) if voids(second, plan) => (void, "void", 0),
        _ => (&second.capture, "capture", plan.amount),
    };
    let request = build_step(step, name, plan);
    let exchange = s.transport.send(&request).await;
    let result = match &exchange.answer {
        Err(_) => ClientResult::Unknown,
        Ok(answer) if step.success.matches(answer.status, &answer.body) => ClientResult::Succeeded,
        Ok(answer) if answer.status >= 500 => ClientResult::Unknown,
        Ok(_) => ClientResult::Failed,
    };
    let intended = s.intended(exchange.sent);
    s.note(&request, &exchange, intended);
    judged_by_template(&mut s, result, None, &exchange.answer);
    // A capture that failed leaves an authorization and no money moved; a void that failed
    // leaves one too. Only a capture told success expects money.
    let expected = if result == ClientResult::Succeeded {
        captures
    } else {
        0
    };
    s.finish("service", String::new(), result, expected, 0)
}

/// The session reads answers the gateway's way; the template's rules decide here: the last
/// request counts as an error (of the answer's kind) only when the outcome is unknown or
/// failed, and a judged answer keeps no error text.
fn judged_by_template<T: Transport>(
    s: &mut Session<'_, T>,
    result: ClientResult,
    idempotency_key: Option<String>,
    answer: &Result<HttpAnswer, TransportFailure>,
) {
    if let (Some(attempt), Some(timing)) = (s.attempts.last_mut(), s.timings.last_mut()) {
        if idempotency_key.is_some() {
            attempt.idempotency_key = idempotency_key;
        }
        let failed = matches!(result, ClientResult::Unknown | ClientResult::Failed);
        timing.error = failed.then(|| ErrorKind::of(answer));
        if matches!(
            result,
            ClientResult::Succeeded | ClientResult::Declined | ClientResult::Accepted
        ) {
            attempt.error = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::order_ids::OrderIds;
    use crate::flows::scripted::{Scripted, json};
    use crate::flows::transport::{HttpAnswer, TransportFailure};
    use crate::scenario::Scenario;

    const TARGET: &str = r#"
[load]
seed = 4
[target]
path = "/shop/orders/{{order_id}}/pay"
headers = { "X-Request-Id" = "{{idempotency_key}}", "X-Api-Key" = "secret" }
body = '{"order":"{{order_id}}","total":{{amount}},"cur":"{{currency}}"}'
[target.success]
status = [200]
pointer = "/paid"
equals = true
[target.decline]
status = [422]
pointer = "/reason"
equals = "declined"
"#;

    async fn play_script(answer: Result<HttpAnswer, TransportFailure>) -> (FlowRun, Scripted) {
        let scenario = Scenario::parse(TARGET, "t", "t.toml").expect("valid");
        let template = scenario.target.expect("target");
        let plan = OrderPlan::new(&scenario.load, &OrderIds::new(4, ""), 2);
        let mut t = Scripted::new(vec![answer]);
        let run = play(&mut t, &template, &plan, Instant::now()).await;
        (run, t)
    }

    #[tokio::test]
    async fn builds_the_request_from_the_template() {
        let (run, t) = play_script(json(200, serde_json::json!({"paid": true}))).await;
        let req = &t.sent[0];
        assert_eq!(req.path, "/shop/orders/ord-4-2/pay");
        assert!(req.bearer.is_none());
        assert!(
            req.headers
                .contains(&("X-Request-Id".to_string(), "ord-4-2-k0".to_string()))
        );
        let body: serde_json::Value =
            serde_json::from_str(req.body.as_deref().expect("body")).expect("json");
        assert_eq!(body["order"], "ord-4-2");
        assert_eq!(body["total"], run.outcome.amount);
        assert_eq!(run.outcome.result, ClientResult::Succeeded);
        assert_eq!(run.outcome.expected_capture, run.outcome.amount);
        assert_eq!(run.outcome.merchant, "");
        assert_eq!(run.outcome.flow, "service");
        assert_eq!(
            run.outcome.attempts[0].idempotency_key.as_deref(),
            Some("ord-4-2-k0")
        );
    }

    #[tokio::test]
    async fn reads_answers_by_the_template_rules() {
        let (run, _) = play_script(json(200, serde_json::json!({"paid": false}))).await;
        assert_eq!(run.outcome.result, ClientResult::Failed);
        assert_eq!(run.timings[0].error, Some(ErrorKind::UnexpectedAnswer));
        let (run, _) = play_script(json(422, serde_json::json!({"reason": "declined"}))).await;
        assert_eq!(run.outcome.result, ClientResult::Declined);
        assert!(run.timings[0].ok());
        let (run, _) = play_script(json(422, serde_json::json!({"reason": "bad zip"}))).await;
        assert_eq!(run.outcome.result, ClientResult::Failed);
        let (run, _) = play_script(json(502, serde_json::json!({}))).await;
        assert_eq!(run.outcome.result, ClientResult::Unknown);
        assert_eq!(run.timings[0].error, Some(ErrorKind::ServerError));
        let (run, _) = play_script(Err(TransportFailure::Timeout)).await;
        assert_eq!(run.outcome.result, ClientResult::Unknown);
        assert_eq!(run.timings[0].error, Some(ErrorKind::Timeout));
        // Without [target.accepted], a 202 promised nothing the template knows: failed.
        let (run, _) = play_script(json(202, serde_json::json!({"status": "pending"}))).await;
        assert_eq!(run.outcome.result, ClientResult::Failed);
    }

    const SAGA: &str = r#"
[load]
seed = 4
[target]
path = "/payments/authorize"
headers = { "Idempotency-Key" = "{{idempotency_key}}" }
body = '{"order_id": "{{order_id}}", "amount": {{amount}}}'
[target.capture]
path = "/payments/{{order_id}}/capture"
headers = { "Idempotency-Key" = "{{idempotency_key}}-capture" }
[target.void]
path = "/payments/{{order_id}}/void"
share = 0.5
[target.void.success]
status = [200]
pointer = "/status"
equals = "voided"
"#;

    /// Plays order `n` of the two-step template against `answers`.
    async fn play_saga(
        n: u64,
        answers: Vec<Result<HttpAnswer, TransportFailure>>,
    ) -> (FlowRun, Scripted, bool) {
        let scenario = Scenario::parse(SAGA, "t", "t.toml").expect("valid");
        let template = scenario.target.expect("target");
        let plan = OrderPlan::new(&scenario.load, &OrderIds::new(4, ""), n);
        let voided = voids(template.second_step.as_ref().expect("two steps"), &plan);
        let mut t = Scripted::new(answers);
        let run = play(&mut t, &template, &plan, Instant::now()).await;
        (run, t, voided)
    }

    #[tokio::test]
    async fn a_two_step_service_captures_or_voids_after_the_authorization() {
        let ok = || json(200, serde_json::json!({"status": "voided"}));
        let mut seen = (0, 0);
        for n in 0..40 {
            let (run, t, voided) = play_saga(n, vec![ok(), ok()]).await;
            let second = &t.sent[1];
            assert_eq!(t.sent[0].path, "/payments/authorize");
            assert_eq!(run.outcome.result, ClientResult::Succeeded);
            let steps: Vec<&str> = run
                .outcome
                .attempts
                .iter()
                .map(|a| a.step.as_str())
                .collect();
            if voided {
                seen.1 += 1;
                assert_eq!(
                    second.path,
                    format!("/payments/{}/void", run.outcome.order_id)
                );
                assert_eq!(steps, ["service", "void"]);
                assert_eq!(run.outcome.expected_capture, 0, "a void moves no money");
            } else {
                seen.0 += 1;
                assert_eq!(
                    second.path,
                    format!("/payments/{}/capture", run.outcome.order_id)
                );
                assert!(second.headers.contains(&(
                    "Idempotency-Key".to_string(),
                    format!("{}-k0-capture", run.outcome.order_id)
                )));
                assert_eq!(steps, ["service", "capture"]);
                assert_eq!(run.outcome.expected_capture, run.outcome.amount);
            }
        }
        // share = 0.5: both happen, and the same order always takes the same path.
        assert!(seen.0 > 5 && seen.1 > 5, "{seen:?}");
        let (_, _, again) = play_saga(7, vec![ok(), ok()]).await;
        assert_eq!(again, play_saga(7, vec![ok(), ok()]).await.2);
    }

    #[tokio::test]
    async fn a_failed_second_step_expects_no_money_and_a_refused_authorization_has_none() {
        // Find an order that captures, then let its capture fail three ways.
        let n = (0..40)
            .find(|&n| {
                let scenario = Scenario::parse(SAGA, "t", "t.toml").expect("valid");
                let template = scenario.target.expect("target");
                let plan = OrderPlan::new(&scenario.load, &OrderIds::new(4, ""), n);
                !voids(template.second_step.as_ref().expect("two steps"), &plan)
            })
            .expect("some order captures");
        let authorized = || json(200, serde_json::json!({}));
        let cases = [
            (json(409, serde_json::json!({})), ClientResult::Failed),
            (json(503, serde_json::json!({})), ClientResult::Unknown),
            (Err(TransportFailure::Timeout), ClientResult::Unknown),
        ];
        for (answer, expected) in cases {
            let (run, _, _) = play_saga(n, vec![authorized(), answer]).await;
            assert_eq!(run.outcome.result, expected);
            assert_eq!(run.outcome.expected_capture, 0);
            assert!(!run.timings[1].ok());
        }
        // A declined authorization: no second request at all.
        let (run, t, _) = play_saga(n, vec![json(402, serde_json::json!({}))]).await;
        assert_eq!(run.outcome.result, ClientResult::Declined);
        assert_eq!(t.sent.len(), 1);
        assert_eq!(run.outcome.expected_capture, 0);
    }

    #[test]
    fn a_void_needs_a_capture_and_a_share_between_0_and_1() {
        let base = "[load]\nseed = 1\n[target]\npath = \"/a\"\n";
        let bad = [
            ("[target.void]\npath = \"/v\"\nshare = 0.1\n", "void"),
            (
                "[target.capture]\npath = \"/c\"\n[target.void]\npath = \"/v\"\n",
                "void.share",
            ),
            (
                "[target.capture]\npath = \"/c\"\n[target.void]\npath = \"/v\"\nshare = 1.5\n",
                "void.share",
            ),
            ("[target.capture]\npath = \"c\"\n", "capture.path"),
            (
                "[target.capture]\npath = \"/c\"\nbody = '{{{order_id}}}'\n",
                "capture.body",
            ),
        ];
        for (extra, field) in bad {
            let text = format!("{base}{extra}");
            let err = Scenario::parse(&text, "t", "t.toml")
                .expect_err(extra)
                .to_string();
            assert!(err.contains(field), "{extra}: {err}");
        }
    }

    #[tokio::test]
    async fn an_accepted_rule_takes_an_asynchronous_answer_as_accepted() {
        let scenario = Scenario::parse(
            &format!("{TARGET}[target.accepted]\npointer = \"/order/status\"\nequals = \"pending\"\nstatus = [202]\n"),
            "t",
            "t.toml",
        )
        .expect("valid");
        let template = scenario.target.expect("target");
        let plan = OrderPlan::new(&scenario.load, &OrderIds::new(4, ""), 2);
        let answers = [
            (
                202,
                serde_json::json!({"order": {"status": "pending"}}),
                ClientResult::Accepted,
            ),
            (
                202,
                serde_json::json!({"order": {"status": "lost"}}),
                ClientResult::Failed,
            ),
            (
                200,
                serde_json::json!({"paid": true}),
                ClientResult::Succeeded,
            ),
        ];
        for (status, body, expected) in answers {
            let mut t = Scripted::new(vec![json(status, body.clone())]);
            let run = play(&mut t, &template, &plan, Instant::now()).await;
            assert_eq!(run.outcome.result, expected, "{status} {body}");
            assert_eq!(run.timings[0].ok(), expected != ClientResult::Failed);
        }
    }
}
