//! `--retain`: settled payments older than the window leave memory, and what a read of one,
//! the ledger and the stats answer then.

use std::time::Duration;

use gateway_sim::SimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error_shape, spawn_app_with};

async fn app(window: u64) -> TestApp {
    spawn_app_with(SimConfig {
        retain: Some(Duration::from_secs(window)),
        ..SimConfig::default()
    })
    .await
}

async fn advance(app: &TestApp, seconds: u64) {
    let a = app
        .post("/_sim/clock/advance", json!({ "seconds": seconds }), None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
}

async fn stats(app: &TestApp) -> Value {
    app.get("/_sim/stats").await.json
}

/// Waits for the once-a-second pass to retire `n` payments in all.
async fn retired(app: &TestApp, n: u64) -> Value {
    for _ in 0..50 {
        let s = stats(app).await;
        if s["retention"]["payments_retired"] == n {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not {n} retired: {}", stats(app).await);
}

#[tokio::test]
async fn a_settled_payment_past_the_window_is_gone_and_its_read_says_retention_is_on() {
    let app = app(60).await;
    let old = app.create_payment(1000, true, "old").await;
    let open = app.create_payment(2000, false, "open").await;
    advance(&app, 30).await;
    let newer = app.create_payment(3000, true, "newer").await;
    advance(&app, 40).await;
    let s = retired(&app, 1).await;
    assert_eq!(s["retention"]["window_seconds"], 60);
    assert_eq!(s["retention"]["payments_held"], 2);
    // The ledger keeps the window whatever the payment: the old charge's two entries left,
    // and so did the open authorization's (the payment itself stays).
    assert_eq!(s["retention"]["ledger_first_held"], 4);
    // Counts and totals are counters: they still include what left memory.
    assert_eq!(s["ledger"]["payments"], 3);
    assert_eq!(s["ledger"]["captured_amount"], 4000);

    let gone = app
        .get(&format!("/v1/payments/{}", old["id"].as_str().unwrap()))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_error_shape(&gone);
    assert_eq!(gone.error_code(), "resource_missing");
    let message = gone.json["error"]["message"].as_str().unwrap();
    assert!(message.contains("--retain 60s"), "{message}");

    for kept in [&open, &newer] {
        let a = app
            .get(&format!("/v1/payments/{}", kept["id"].as_str().unwrap()))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    }
    // The open authorization can still be captured.
    let captured = app
        .post(
            &format!("/v1/payments/{}/capture", open["id"].as_str().unwrap()),
            json!({}),
            None,
        )
        .await;
    assert_eq!(captured.status, StatusCode::OK, "{}", captured.json);

    // The ledger streams from the first entry held, numbers unchanged and gap-free.
    let ledger = app
        .client
        .get(app.url("/_sim/ledger"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let seqs: Vec<u64> = ledger
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, [4, 5, 6]);
}

#[tokio::test]
async fn a_retired_payments_idempotency_key_still_replays_its_answer() {
    let app = app(60).await;
    let body = json!({"amount": 1500, "currency": "usd", "payment_method": "pm_card_visa", "reference": "k"});
    let first = app
        .post("/v1/payments", body.clone(), Some("order-k"))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    advance(&app, 90).await;
    retired(&app, 1).await;
    let again = app.post("/v1/payments", body, Some("order-k")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.raw, first.raw, "the stored answer, byte for byte");
    assert_eq!(
        stats(&app).await["ledger"]["payments"],
        1,
        "no second charge"
    );
}

#[tokio::test]
async fn without_retain_nothing_leaves_and_stats_say_it_is_off() {
    let app = crate::helpers::spawn_app().await;
    let p = app.create_payment(1000, true, "o").await;
    advance(&app, 365 * 24 * 3600).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let s = stats(&app).await;
    assert_eq!(s["retention"]["window_seconds"], Value::Null);
    assert_eq!(s["retention"]["payments_retired"], 0);
    let a = app
        .get(&format!("/v1/payments/{}", p["id"].as_str().unwrap()))
        .await;
    assert_eq!(a.status, StatusCode::OK);
}
