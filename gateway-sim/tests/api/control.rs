//! The control plane: ledger stream, stats, metrics, config, reset, admin token.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{answer, spawn_app, spawn_app_with};
use gateway_sim::LedgerEntry;

#[tokio::test]
async fn the_ledger_streams_as_ndjson_one_entry_per_movement() {
    let app = spawn_app().await;
    for i in 0..3 {
        app.create_payment(100 + i, true, &format!("order-{i}"))
            .await;
    }
    let text = app
        .client
        .get(app.url("/_sim/ledger"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let entries: Vec<LedgerEntry> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is an entry"))
        .collect();
    assert_eq!(entries.len(), 6, "authorization + capture per charge");
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6]
    );
    assert_eq!(entries, app.sim.ledger_entries());
    let tail = app
        .client
        .get(app.url("/_sim/ledger?from=5"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(tail.lines().count(), 2);
    // A tailing client that sent garbage would otherwise be handed the whole ledger again.
    let bad = app.get("/_sim/ledger?from=abc").await;
    assert_eq!(bad.status, 400, "{}", bad.json);
    assert_eq!(bad.json["error"]["param"], "from");
}

#[tokio::test]
async fn stats_and_metrics_count_payments_and_money() {
    let app = spawn_app().await;
    app.create_payment(1000, true, "a").await;
    app.create_payment(500, false, "b").await;
    let stats = app.get("/_sim/stats").await.json;
    assert_eq!(stats["ledger"]["payments"], 2);
    assert_eq!(stats["ledger"]["captured_amount"], 1000);
    assert_eq!(stats["ledger"]["requires_capture"], 1);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("gateway_sim_amount_total{kind=\"capture\"} 1000"),
        "{metrics}"
    );
    assert!(metrics.contains("gateway_sim_payments{status=\"requires_capture\"} 1"));
}

#[tokio::test]
async fn reset_forgets_everything() {
    let app = spawn_app().await;
    app.post(
        "/v1/payments",
        json!({"amount": 1, "currency": "usd", "payment_method": "pm_card_visa"}),
        Some("k"),
    )
    .await;
    let r = app
        .client
        .post(app.url("/_sim/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(app.sim.ledger_entries().is_empty());
    assert_eq!(
        app.get("/v1/idempotency-keys/k").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_admin_token_guards_the_control_plane_but_not_health() {
    let app = spawn_app_with(gateway_sim::SimConfig {
        admin_token: Some("s3cret".into()),
        ..Default::default()
    })
    .await;
    let denied = answer(
        app.client
            .get(app.url("/_sim/ledger"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    assert_eq!(denied.error_code(), "admin_token_required");
    let allowed = app
        .client
        .get(app.url("/_sim/stats"))
        .header("x-admin-token", "s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    let bearer = app
        .client
        .get(app.url("/_sim/stats"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
    assert_eq!(
        app.client
            .get(app.url("/_sim/health"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn invalid_config_is_refused_naming_the_field_and_changes_nothing() {
    let app = spawn_app().await;
    let before = app.get("/_sim/config").await.json;
    let bad = answer(
        app.client
            .put(app.url("/_sim/config"))
            .json(&json!({"faults": {"http_503": 1.5}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), "invalid_config");
    assert!(
        bad.json["error"]["param"]
            .as_str()
            .unwrap()
            .contains("http_503"),
        "{}",
        bad.json
    );
    let unknown = answer(
        app.client
            .put(app.url("/_sim/config"))
            .json(&json!({"latncy": {}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("latncy"),
        "{}",
        unknown.json
    );
    assert_eq!(app.get("/_sim/config").await.json, before);
}

#[tokio::test]
async fn config_is_replaced_while_the_simulator_runs() {
    let app = spawn_app().await;
    let put = answer(
        app.client
            .put(app.url("/_sim/config"))
            .json(&json!({"faults": {"http_503": 1.0}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.json);
    let a = app
        .post(
            "/v1/payments",
            json!({"amount": 1, "currency": "usd", "payment_method": "pm_card_visa"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.get("/_sim/stats").await.json["faults"]["http_503"], 1);
}

#[tokio::test]
async fn a_rate_too_small_to_enforce_is_refused_not_a_crash() {
    // 1/rate once overflowed a Duration: the handler panicked and the client saw its
    // connection dropped instead of an answer.
    let app = spawn_app().await;
    let bad = answer(
        app.client
            .put(app.url("/_sim/config"))
            .json(&json!({"rate_limit": {"requests_per_second": 1e-300}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.json);
    assert_eq!(
        bad.json["error"]["param"],
        "gateway.rate_limit.requests_per_second"
    );
    assert_eq!(app.get("/_sim/health").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_clock_refuses_a_jump_that_would_wrap_simulator_time() {
    // A jump of u64::MAX seconds once wrapped simulator time a second into the past.
    let app = spawn_app().await;
    let before = app.get("/_sim/stats").await.json["sim_time_ms"]
        .as_u64()
        .unwrap();
    let advance = |seconds: u64| {
        app.client
            .post(app.url("/_sim/clock/advance"))
            .json(&json!({ "seconds": seconds }))
            .send()
    };
    let bad = answer(advance(u64::MAX).await.unwrap()).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.json);
    assert_eq!(bad.json["error"]["param"], "seconds");
    let after = app.get("/_sim/stats").await.json["sim_time_ms"]
        .as_u64()
        .unwrap();
    assert!(
        (before..before + 60_000).contains(&after),
        "{before} → {after}"
    );
    let century = answer(advance(100 * 31_557_600).await.unwrap()).await;
    assert_eq!(century.status, StatusCode::OK, "{}", century.json);
}
