//! `[gateway.capacity]` over HTTP: requests beyond the workers wait in line, so latency grows
//! with load; beyond the queue they are refused 503 at once with nothing charged; the queue's
//! figures are in the stats and the metrics; the control plane never waits in line; a new
//! config takes effect for new requests, and a bad one is refused naming its field.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, answer, spawn_app_with_behaviour};

const ONE_SLOW_WORKER: &str = r#"
[gateway.capacity]
workers = 1
service_time = { distribution = "constant", value = "300ms" }
max_queue = 1
"#;

async fn create(app: &TestApp, reference: &str) -> (StatusCode, String, Duration) {
    let sent = Instant::now();
    let a = answer(
        app.client
            .post(app.url("/v1/payments"))
            .bearer_auth(&app.api_key)
            .json(&json!({"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa", "reference": reference}))
            .send()
            .await
            .expect("answered"),
    )
    .await;
    let code = if a.status.is_success() {
        String::new()
    } else {
        a.error_code().to_string()
    };
    (a.status, code, sent.elapsed())
}

#[tokio::test]
async fn beyond_the_workers_requests_wait_and_beyond_the_queue_they_are_refused() {
    let app = spawn_app_with_behaviour(ONE_SLOW_WORKER).await;
    let first = create(&app, "first");
    let second = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        create(&app, "second").await
    };
    let third = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let refused = create(&app, "third").await;
        // While the worker is busy and the line full, the control plane still answers at once.
        let sent = Instant::now();
        let stats = app.get("/_sim/stats").await.json;
        (refused, stats, sent.elapsed())
    };
    let (first, second, (third, stats, stats_took)) = tokio::join!(first, second, third);

    assert_eq!(first.0, StatusCode::OK);
    assert!(first.2 >= Duration::from_millis(290), "{first:?}");
    // The second waited for the first's worker: its service time starts when that one ends.
    assert_eq!(second.0, StatusCode::OK);
    assert!(second.2 >= Duration::from_millis(480), "{second:?}");
    // The third found the one place in line taken: refused at once.
    assert_eq!(third.0, StatusCode::SERVICE_UNAVAILABLE, "{third:?}");
    assert_eq!(third.1, "service_unavailable");
    assert!(third.2 < Duration::from_millis(150), "{third:?}");
    assert!(stats_took < Duration::from_millis(150), "{stats_took:?}");
    assert_eq!(stats["queue"]["depth"], 1, "{stats}");
    assert_eq!(stats["queue"]["busy_workers"], 1, "{stats}");

    // Nothing of the refused one ran.
    assert_eq!(app.sim.engine().stats().payments, 2);
    let stats = app.get("/_sim/stats").await.json;
    assert_eq!(stats["faults"]["queue_full"], 1, "{stats}");
    assert_eq!(
        stats["queue"],
        json!({"depth": 0, "max_depth": 1, "rejected": 1, "busy_workers": 0})
    );
    let metrics = app.get("/metrics").await;
    let text = String::from_utf8_lossy(&metrics.raw);
    for line in [
        "gateway_sim_queue_depth 0",
        "gateway_sim_queue_depth_max 1",
        "gateway_sim_queue_rejected_total 1",
        "gateway_sim_workers_busy 0",
        "gateway_sim_injected_faults_total{kind=\"queue_full\"} 1",
    ] {
        assert!(text.contains(line), "{line} not in {text}");
    }
}

#[tokio::test]
async fn a_new_capacity_applies_to_new_requests_and_a_bad_one_is_refused() {
    let app = spawn_app_with_behaviour(ONE_SLOW_WORKER).await;
    let put = |body: serde_json::Value| {
        let app = &app;
        async move {
            answer(
                app.client
                    .put(app.url("/_sim/config"))
                    .json(&body)
                    .send()
                    .await
                    .expect("answered"),
            )
            .await
        }
    };
    for (body, field) in [
        (
            json!({"capacity": {"workers": 0, "service_time": {"distribution": "constant", "value": "1ms"}}}),
            "gateway.capacity.workers",
        ),
        (
            json!({"capacity": {"workers": 2, "service_time": {"distribution": "lognormal", "p50": "20ms", "p99": "10ms"}}}),
            "gateway.capacity.service_time.p99",
        ),
    ] {
        let refused = put(body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert_eq!(refused.error_code(), "invalid_config");
        let message = refused.json["error"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(field), "{message}");
    }
    let refused = put(json!({"capacity": {"workers": 1, "max_queue": -1, "service_time": {"distribution": "constant", "value": "1ms"}}})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.error_code(), "invalid_config");

    // Eight workers, no line: eight at once are all served together.
    let accepted = put(json!({"capacity": {"workers": 8, "max_queue": 0, "service_time": {"distribution": "constant", "value": "200ms"}}})).await;
    assert_eq!(accepted.status, StatusCode::OK, "{:?}", accepted.json);
    let config = app.get("/_sim/config").await.json;
    assert_eq!(config["gateway"]["capacity"]["workers"], 8, "{config}");
    let started = Instant::now();
    let answers = futures::future::join_all((0..8).map(|i| {
        let app = &app;
        async move { create(app, &format!("o{i}")).await }
    }))
    .await;
    assert!(answers.iter().all(|a| a.0 == StatusCode::OK), "{answers:?}");
    assert!(
        started.elapsed() < Duration::from_millis(390),
        "{answers:?}"
    );

    // Without the table, no line at all.
    let accepted = put(json!({})).await;
    assert_eq!(accepted.status, StatusCode::OK);
    let answers = futures::future::join_all((0..8).map(|i| {
        let app = &app;
        async move { create(app, &format!("p{i}")).await }
    }))
    .await;
    assert!(
        answers
            .iter()
            .all(|a| a.0 == StatusCode::OK && a.2 < Duration::from_millis(150)),
        "{answers:?}"
    );
}
