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
use crate::scenario::{TargetTemplate, TemplateValues};

use super::error_kind::ErrorKind;
use super::order_ids::OrderPlan;
use super::session::{FlowRun, Session};
use super::transport::{ApiRequest, HttpMethod, Transport};

/// Builds the request for `plan` from the template.
pub fn build_request(template: &TargetTemplate, plan: &OrderPlan) -> ApiRequest {
    let key = plan.create_key(0);
    let values = TemplateValues {
        order_id: &plan.order_id,
        amount: plan.amount,
        currency: &plan.currency,
        idempotency_key: &key,
    };
    ApiRequest {
        step: "service",
        // The template was validated when the scenario was read.
        method: HttpMethod::parse(&template.method).unwrap_or(HttpMethod::Post),
        path: template.path.render(&values),
        bearer: None,
        idempotency_key: None,
        body: template.body.as_ref().map(|b| b.render(&values)),
        headers: template
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), value.render(&values)))
            .collect(),
    }
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
    // The session reads answers the gateway's way; the template's rules decide here.
    if let (Some(attempt), Some(timing)) = (s.attempts.last_mut(), s.timings.last_mut()) {
        attempt.idempotency_key = Some(key);
        let failed = matches!(result, ClientResult::Unknown | ClientResult::Failed);
        timing.error = failed.then(|| ErrorKind::of(&exchange.answer));
        if matches!(
            result,
            ClientResult::Succeeded | ClientResult::Declined | ClientResult::Accepted
        ) {
            attempt.error = None;
        }
    }
    s.finish("service", String::new(), result, plan.amount, 0)
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
