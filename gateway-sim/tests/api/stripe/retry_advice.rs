//! `Stripe-Should-Retry` on Stripe-dialect answers, as Stripe sends it: `true` on a 5xx and on a
//! 409 for a key still in use, `false` on a decline and on a request that will never run as
//! written, nothing on a success; never on the native API.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{Answer, spawn_app, spawn_app_with_behaviour};

fn advice(a: &Answer) -> Option<&str> {
    a.headers
        .get("stripe-should-retry")
        .and_then(|v| v.to_str().ok())
}

const VISA: [(&str, &str); 4] = [
    ("amount", "1500"),
    ("currency", "usd"),
    ("payment_method", "pm_card_visa"),
    ("confirm", "true"),
];

#[tokio::test]
async fn declines_and_invalid_requests_say_false_and_successes_say_nothing() {
    let app = spawn_app().await;
    let ok = app.form("/v1/payment_intents", &VISA, None).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(advice(&ok), None, "a success needs no advice");

    let declined_form = [
        ("amount", "1500"),
        ("currency", "usd"),
        ("payment_method", "pm_card_chargeDeclined"),
        ("confirm", "true"),
    ];
    let declined = app
        .form("/v1/payment_intents", &declined_form, Some("d-1"))
        .await;
    assert_eq!(declined.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(
        advice(&declined),
        Some("false"),
        "a decline stays a decline"
    );
    let replayed = app
        .form("/v1/payment_intents", &declined_form, Some("d-1"))
        .await;
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
    assert_eq!(advice(&replayed), Some("false"), "a replayed decline too");

    let invalid = app
        .form("/v1/payment_intents", &[("currency", "usd")], None)
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{}", invalid.json);
    assert_eq!(
        advice(&invalid),
        Some("false"),
        "a missing amount stays missing"
    );

    let missing = app.stripe_get("/v1/payment_intents/pi_nope", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(advice(&missing), None);
}

#[tokio::test]
async fn server_errors_say_true_and_the_native_api_gives_no_advice() {
    for (fault, status) in [
        ("http_500", StatusCode::INTERNAL_SERVER_ERROR),
        ("http_503", StatusCode::SERVICE_UNAVAILABLE),
        ("http_500_after_commit", StatusCode::INTERNAL_SERVER_ERROR),
    ] {
        let app = spawn_app_with_behaviour(&format!("[gateway.faults]\n{fault} = 1.0\n")).await;
        let a = app.form("/v1/payment_intents", &VISA, Some("k")).await;
        assert_eq!(a.status, status, "{fault}");
        assert_eq!(advice(&a), Some("true"), "{fault}");
        let native = app
            .post(
                "/v1/payments",
                serde_json::json!({"amount": 100, "currency": "usd", "payment_method": "pm_card_visa"}),
                None,
            )
            .await;
        assert_eq!(native.status, status, "{fault}");
        assert_eq!(
            advice(&native),
            None,
            "{fault}: native answers carry no Stripe header"
        );
    }
}

#[tokio::test]
async fn a_key_still_in_use_says_true() {
    let app = spawn_app_with_behaviour(
        "[gateway.endpoints.create]\nlatency = { distribution = \"constant\", value = \"600ms\" }\n",
    )
    .await;
    let first = app.form("/v1/payment_intents", &VISA, Some("busy"));
    let second = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        app.form("/v1/payment_intents", &VISA, Some("busy")).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.json);
    assert_eq!(second.json["error"]["code"], "idempotency_key_in_use");
    assert_eq!(
        advice(&second),
        Some("true"),
        "the same request may succeed soon"
    );
}
