//! The payment lifecycle over HTTP: authorize, capture, cancel, refund, look up.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;
use gateway_sim::EntryKind;

#[tokio::test]
async fn authorize_capture_refund_walkthrough_moves_money_exactly_once_each() {
    // Arrange
    let app = spawn_app().await;
    let auth = app.create_payment(1000, false, "order-123").await;
    let id = auth["id"].as_str().unwrap();
    assert_eq!(auth["status"], "requires_capture");
    assert_eq!(auth["amount_capturable"], 1000);

    // Act
    let capture = app
        .post(
            &format!("/v1/payments/{id}/capture"),
            json!({"amount": 800}),
            None,
        )
        .await;
    let refund = app
        .post(
            &format!("/v1/payments/{id}/refunds"),
            json!({"amount": 300}),
            None,
        )
        .await;
    let fetched = app.get(&format!("/v1/payments/{id}")).await;

    // Assert
    assert_eq!(capture.status, StatusCode::OK);
    assert_eq!(capture.json["status"], "succeeded");
    assert_eq!(
        (
            capture.json["amount_captured"].as_i64(),
            capture.json["amount_capturable"].as_i64()
        ),
        (Some(800), Some(0))
    );
    assert_eq!(refund.status, StatusCode::OK);
    assert!(refund.json["id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(refund.json["amount"], 300);
    assert_eq!(fetched.json["amount_refunded"], 300);
    assert_eq!(fetched.json["refunds"].as_array().unwrap().len(), 1);
    let kinds: Vec<(EntryKind, i64)> = app
        .sim
        .ledger_entries()
        .iter()
        .map(|e| (e.kind, e.amount))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (EntryKind::Authorization, 1000),
            (EntryKind::Capture, 800),
            (EntryKind::Release, 200),
            (EntryKind::Refund, 300)
        ]
    );
}

#[tokio::test]
async fn a_charge_defaults_to_capture_and_cancel_releases_an_authorization() {
    let app = spawn_app().await;
    let charge = app
        .post(
            "/v1/payments",
            json!({"amount": 500, "currency": "EUR", "payment_method": "pm_card_mastercard"}),
            None,
        )
        .await;
    assert_eq!(charge.json["status"], "succeeded");
    assert_eq!(charge.json["currency"], "eur");
    let auth = app.create_payment(700, false, "order-9").await;
    let canceled = app
        .post(
            &format!("/v1/payments/{}/cancel", auth["id"].as_str().unwrap()),
            json!({}),
            None,
        )
        .await;
    assert_eq!(canceled.status, StatusCode::OK);
    assert_eq!(canceled.json["status"], "canceled");
    assert_eq!(app.sim.engine().stats().released_amount, 700);
}

#[tokio::test]
async fn declines_answer_402_and_keep_the_failed_payment() {
    let app = spawn_app().await;
    let declined = app
        .post(
            "/v1/payments",
            json!({"amount": 1000, "currency": "usd", "card": {"number": "4000000000009995", "exp_month": 12, "exp_year": 2030, "cvc": "123"}, "reference": "order-poor"}),
            None,
        )
        .await;
    assert_eq!(declined.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(declined.json["error"]["type"], "card_error");
    assert_eq!(declined.json["error"]["decline_code"], "insufficient_funds");
    let id = declined.json["error"]["payment_id"]
        .as_str()
        .expect("the failed payment is named");
    let kept = app.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(kept.json["status"], "failed");
    assert_eq!(kept.json["decline_code"], "insufficient_funds");
    assert_eq!(kept.json["amount_captured"], 0);
    assert_eq!(kept.json["payment_method"]["card"]["last4"], "9995");
}

#[tokio::test]
async fn payments_are_listed_by_merchant_order_reference() {
    let app = spawn_app().await;
    app.create_payment(100, true, "order-7").await;
    app.create_payment(200, true, "order-7").await;
    app.create_payment(300, true, "order-8").await;
    let list = app.get("/v1/payments?reference=order-7").await;
    assert_eq!(list.status, StatusCode::OK);
    let amounts: Vec<i64> = list.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts.len(), 2);
    assert!(amounts.contains(&100) && amounts.contains(&200));
}

#[tokio::test]
async fn merchants_cannot_see_each_others_payments_or_keys() {
    let app = spawn_app().await;
    let p = app
        .post("/v1/payments", json!({"amount": 100, "currency": "usd", "payment_method": "pm_card_visa", "capture": false, "reference": "r"}), Some("key-a"))
        .await;
    let id = p.json["id"].as_str().unwrap();
    let other = app.as_merchant("sk_test_merchant_b");
    assert_eq!(
        other.get(&format!("/v1/payments/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other
            .post(&format!("/v1/payments/{id}/capture"), json!({}), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other.get("/v1/payments?reference=r").await.json["data"],
        json!([])
    );
    assert_eq!(
        other.get("/v1/idempotency-keys/key-a").await.status,
        StatusCode::NOT_FOUND
    );
    // and the payment is untouched
    assert_eq!(
        app.get(&format!("/v1/payments/{id}")).await.json["status"],
        "requires_capture"
    );
}

#[tokio::test]
async fn fifty_concurrent_partial_refunds_never_exceed_the_capture() {
    let app = spawn_app().await;
    let p = app.create_payment(1000, true, "order-r").await;
    let path = format!("/v1/payments/{}/refunds", p["id"].as_str().unwrap());
    let answers =
        futures::future::join_all((0..50).map(|_| app.post(&path, json!({"amount": 30}), None)))
            .await;
    let ok = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK)
        .count();
    assert_eq!(ok, 1000 / 30, "exactly the refunds that fit");
    assert!(
        answers
            .iter()
            .filter(|a| a.status != StatusCode::OK)
            .all(|a| a.error_code() == "amount_too_large")
    );
    let refunded: i64 = app
        .sim
        .ledger_entries()
        .iter()
        .filter(|e| e.kind == EntryKind::Refund)
        .map(|e| e.amount)
        .sum();
    assert_eq!(refunded, 30 * (1000 / 30));
    assert!(refunded <= 1000);
}
