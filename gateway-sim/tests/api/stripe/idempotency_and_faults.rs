//! What the Stripe dialect shares with the native API: idempotency keys,
//! the ledger, the fault model and rate limits, answered in Stripe's shape.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::{assert_stripe_error, id, payment_id};
use crate::helpers::{spawn_app, spawn_app_with_behaviour};

#[tokio::test]
async fn idempotent_retries_replay_and_a_changed_request_is_an_idempotency_error() {
    let app = spawn_app().await;
    let form = [
        ("amount", "2500"),
        ("currency", "usd"),
        ("payment_method", "pm_card_visa"),
        ("confirm", "true"),
    ];
    let first = app
        .form("/v1/payment_intents", &form, Some("order-9"))
        .await;
    let again = app
        .form("/v1/payment_intents", &form, Some("order-9"))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(again.raw, first.raw, "the same answer, byte for byte");
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(
        app.sim.engine().stats().captured_amount,
        2500,
        "charged once"
    );

    let changed = [
        ("amount", "2600"),
        ("currency", "usd"),
        ("payment_method", "pm_card_visa"),
        ("confirm", "true"),
    ];
    let changed = app
        .form("/v1/payment_intents", &changed, Some("order-9"))
        .await;
    assert_stripe_error(
        &changed,
        StatusCode::BAD_REQUEST,
        "idempotency_error",
        "idempotency_key_mismatch",
    );

    // A declined answer is stored too: the retry does not charge the card again.
    let declined = [
        ("amount", "900"),
        ("currency", "usd"),
        ("payment_method", "pm_card_chargeDeclined"),
        ("confirm", "true"),
    ];
    let a = app
        .form("/v1/payment_intents", &declined, Some("d-1"))
        .await;
    let b = app
        .form("/v1/payment_intents", &declined, Some("d-1"))
        .await;
    assert_eq!(
        (a.status, b.status),
        (StatusCode::PAYMENT_REQUIRED, StatusCode::PAYMENT_REQUIRED)
    );
    assert_eq!(a.raw, b.raw);
    assert_eq!(app.sim.engine().stats().failed, 1);
}

#[tokio::test]
async fn keys_and_ledger_are_shared_with_the_native_api() {
    let app = spawn_app().await;
    let pi = app.paid_intent("1200", "automatic").await;
    let native = app
        .get(&format!("/v1/payments/{}", payment_id(id(&pi))))
        .await;
    assert_eq!(native.status, StatusCode::OK);
    assert_eq!(native.json["status"], "succeeded");
    assert_eq!(native.json["amount_captured"], 1200);

    // Refunded through the native API, seen on the Stripe charge.
    let refund = app
        .post(
            &format!("/v1/payments/{}/refunds", payment_id(id(&pi))),
            json!({"amount": 200}),
            None,
        )
        .await;
    assert_eq!(refund.status, StatusCode::OK);
    let charge = app
        .stripe_get(
            &format!("/v1/charges/{}", pi["latest_charge"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(charge.json["amount_refunded"], 200);
    assert_eq!(charge.json["refunds"]["data"][0]["id"], refund.json["id"]);

    // A native payment is a PaymentIntent on the Stripe side.
    let native = app.create_payment(800, false, "order-n").await;
    let digits = native["id"].as_str().unwrap().strip_prefix("pay_").unwrap();
    let seen = app
        .stripe_get(&format!("/v1/payment_intents/pi_{digits}"), &[])
        .await;
    assert_eq!(seen.json["status"], "requires_capture");
    assert_eq!(seen.json["capture_method"], "manual");

    // One idempotency key space per merchant: a key used natively is taken here.
    let reused = app
        .form(
            "/v1/payment_intents",
            &[("amount", "1"), ("currency", "usd")],
            Some("shared-key"),
        )
        .await;
    assert_eq!(reused.status, StatusCode::OK);
    let clash = app
        .post(
            "/v1/payments",
            json!({"amount": 1, "currency": "usd", "payment_method": "pm_card_visa"}),
            Some("shared-key"),
        )
        .await;
    assert_eq!(clash.status, StatusCode::BAD_REQUEST);
    assert_eq!(clash.error_code(), "idempotency_key_mismatch");
}

#[tokio::test]
async fn injected_faults_and_rate_limits_answer_in_stripes_shape() {
    let app = spawn_app_with_behaviour(
        "[[gateway.sequences]]\nendpoints = [\"create\"]\nfail_first = 1\nfault = \"http_503\"\n",
    )
    .await;
    let form = [
        ("amount", "100"),
        ("currency", "usd"),
        ("payment_method", "pm_card_visa"),
        ("confirm", "true"),
    ];
    let first = app.form("/v1/payment_intents", &form, Some("k-503")).await;
    assert_stripe_error(
        &first,
        StatusCode::SERVICE_UNAVAILABLE,
        "api_error",
        "service_unavailable",
    );
    assert!(
        app.sim.ledger_entries().is_empty(),
        "rejected before processing"
    );
    let retry = app.form("/v1/payment_intents", &form, Some("k-503")).await;
    assert_eq!(
        retry.status,
        StatusCode::OK,
        "the retry with the same key goes through"
    );

    let limited =
        spawn_app_with_behaviour("[gateway.rate_limit]\nrequests_per_second = 1\nburst = 2\n")
            .await;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let a = limited.stripe_get("/v1/payment_intents", &[]).await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            assert_stripe_error(
                &a,
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_request_error",
                "rate_limit",
            );
            assert!(a.headers.get("retry-after").is_some());
        }
        statuses.push(a.status);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_key_in_flight_is_a_409_idempotency_error() {
    let app = spawn_app_with_behaviour(
        "[gateway.endpoints.create]\nlatency = { distribution = \"constant\", value = \"400ms\" }\n",
    )
    .await;
    let form = [
        ("amount", "100"),
        ("currency", "usd"),
        ("payment_method", "pm_card_visa"),
        ("confirm", "true"),
    ];
    let first = app.form("/v1/payment_intents", &form, Some("slow"));
    let second = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        app.form("/v1/payment_intents", &form, Some("slow")).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.status, StatusCode::OK);
    assert_stripe_error(
        &second,
        StatusCode::CONFLICT,
        "idempotency_error",
        "idempotency_key_in_use",
    );
}
