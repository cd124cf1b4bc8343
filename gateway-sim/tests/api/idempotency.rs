//! Idempotency keys: replay, mismatch, in flight, validation stores nothing, expiry.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with_behaviour};

fn charge(reference: &str) -> serde_json::Value {
    json!({"amount": 2500, "currency": "usd", "payment_method": "pm_card_visa", "reference": reference})
}

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_stored_answer_byte_for_byte() {
    let app = spawn_app().await;
    let first = app
        .post("/v1/payments", charge("order-1"), Some("key-1"))
        .await;
    let retry = app
        .post("/v1/payments", charge("order-1"), Some("key-1"))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.headers.get("idempotent-replayed").is_none());
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(retry.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(retry.raw, first.raw, "replayed byte for byte");
    assert_eq!(app.sim.engine().stats().payments, 1, "nothing ran again");
}

#[tokio::test]
async fn declines_are_stored_and_replayed_too() {
    let app = spawn_app().await;
    let body =
        json!({"amount": 100, "currency": "usd", "payment_method": "pm_card_chargeDeclined"});
    let first = app.post("/v1/payments", body.clone(), Some("k")).await;
    let retry = app.post("/v1/payments", body, Some("k")).await;
    assert_eq!(first.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(
        (retry.status, &retry.raw),
        (StatusCode::PAYMENT_REQUIRED, &first.raw)
    );
    assert_eq!(app.sim.engine().stats().failed, 1);
}

#[tokio::test]
async fn the_same_key_with_a_different_request_is_refused_and_runs_nothing() {
    let app = spawn_app().await;
    app.post("/v1/payments", charge("order-1"), Some("key-1"))
        .await;
    let other_body = app
        .post("/v1/payments", charge("order-2"), Some("key-1"))
        .await;
    assert_eq!(other_body.status, StatusCode::BAD_REQUEST);
    assert_eq!(other_body.json["error"]["type"], "idempotency_error");
    assert_eq!(other_body.error_code(), "idempotency_key_mismatch");
    let p = app.sim.ledger_entries()[0].payment_id.clone();
    let other_path = app
        .post(
            &format!("/v1/payments/{p}/cancel"),
            json!({}),
            Some("key-1"),
        )
        .await;
    assert_eq!(
        other_path.error_code(),
        "idempotency_key_mismatch",
        "other path"
    );
    assert_eq!(app.sim.engine().stats().payments, 1);
}

#[tokio::test]
async fn two_hundred_concurrent_identical_requests_make_exactly_one_payment() {
    let app = spawn_app().await;
    let answers = futures::future::join_all(
        (0..200).map(|_| app.post("/v1/payments", charge("order-dc"), Some("double-click"))),
    )
    .await;
    let fresh = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK && a.headers.get("idempotent-replayed").is_none())
        .count();
    let replays = answers
        .iter()
        .filter(|a| a.headers.get("idempotent-replayed").is_some())
        .count();
    let in_use = answers
        .iter()
        .filter(|a| a.status == StatusCode::CONFLICT && a.error_code() == "idempotency_key_in_use")
        .count();
    assert_eq!(fresh, 1);
    assert_eq!(
        replays + in_use,
        199,
        "every other answer is a replay or 'in use'"
    );
    assert_eq!(app.sim.engine().stats().payments, 1);
    assert_eq!(app.sim.engine().stats().captured_amount, 2500);
}

#[tokio::test]
async fn while_the_first_request_runs_the_key_is_in_flight_and_others_get_409() {
    // Only creation is slow, so the probes themselves answer at once.
    let app = spawn_app_with_behaviour(
        "[gateway.endpoints.create]\nlatency = { distribution = \"constant\", value = \"400ms\" }\n",
    )
    .await;
    let first = app.post("/v1/payments", charge("slow"), Some("slow-key"));
    let probe = async {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let lookup = app.get("/v1/idempotency-keys/slow-key").await;
        let second = app
            .post("/v1/payments", charge("slow"), Some("slow-key"))
            .await;
        (lookup, second)
    };
    let (first, (lookup, second)) = tokio::join!(first, probe);
    assert_eq!(lookup.json["status"], "in_flight");
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(second.error_code(), "idempotency_key_in_use");
    assert_eq!(first.status, StatusCode::OK);
    let done = app.get("/v1/idempotency-keys/slow-key").await;
    assert_eq!(done.json["status"], "completed");
    assert_eq!(done.json["response"]["status"], 200);
    assert_eq!(done.json["response"]["body"]["id"], first.json["id"]);
}

#[tokio::test]
async fn a_request_rejected_by_validation_stores_nothing_so_it_can_be_corrected() {
    let app = spawn_app().await;
    let bad = app
        .post(
            "/v1/payments",
            json!({"amount": -1, "currency": "usd", "payment_method": "pm_card_visa"}),
            Some("k"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/v1/idempotency-keys/k").await.status,
        StatusCode::NOT_FOUND
    );
    let fixed = app
        .post("/v1/payments", charge("order-fixed"), Some("k"))
        .await;
    assert_eq!(
        fixed.status,
        StatusCode::OK,
        "same key, corrected body: {}",
        fixed.json
    );
}

#[tokio::test]
async fn a_refused_operation_frees_its_key() {
    let app = spawn_app().await;
    let p = app.create_payment(100, true, "o").await;
    let id = p["id"].as_str().unwrap();
    let too_much = app
        .post(
            &format!("/v1/payments/{id}/refunds"),
            json!({"amount": 101}),
            Some("refund-1"),
        )
        .await;
    assert_eq!(too_much.error_code(), "amount_too_large");
    assert_eq!(
        app.get("/v1/idempotency-keys/refund-1").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn keys_expire_after_their_ttl_of_simulator_time() {
    let app = spawn_app().await;
    app.post("/v1/payments", charge("order-1"), Some("old-key"))
        .await;
    let advanced = app
        .client
        .post(app.url("/_sim/clock/advance"))
        .json(&json!({"seconds": 24 * 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(advanced.status(), StatusCode::OK);
    assert_eq!(
        app.get("/v1/idempotency-keys/old-key").await.status,
        StatusCode::NOT_FOUND
    );
    let reused = app
        .post("/v1/payments", charge("order-2"), Some("old-key"))
        .await;
    assert_eq!(
        reused.status,
        StatusCode::OK,
        "an expired key is a fresh key"
    );
    assert_eq!(app.sim.engine().stats().payments, 2);
}

#[tokio::test]
async fn keys_longer_than_255_characters_are_refused() {
    let app = spawn_app().await;
    let long = "k".repeat(256);
    let a = app.post("/v1/payments", charge("o"), Some(&long)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.error_code(), "idempotency_key_too_long");
    assert_eq!(
        app.post("/v1/payments", charge("o"), Some(&"k".repeat(255)))
            .await
            .status,
        StatusCode::OK
    );
}
