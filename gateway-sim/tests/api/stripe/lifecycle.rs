//! A PaymentIntent's life after its first answer, in the Stripe dialect: the
//! authorization that expires, and the 3-D Secure challenge.

use reqwest::StatusCode;
use serde_json::json;

use super::{assert_stripe_error, id, ledger_of};
use crate::helpers::{answer, spawn_app};
use gateway_sim::EntryKind;

#[tokio::test]
async fn an_expired_authorization_cancels_the_intent_automatically() {
    let app = spawn_app().await;
    let intent = app.paid_intent("3300", "manual").await;
    let pi = id(&intent).to_string();
    let charge = app
        .stripe_get(
            &format!("/v1/charges/{}", intent["latest_charge"].as_str().unwrap()),
            &[],
        )
        .await;
    let capture_before = charge.json["capture_before"]
        .as_u64()
        .expect("capture_before");
    assert_eq!(
        charge.json["payment_method_details"]["card"]["capture_before"],
        capture_before
    );

    let advanced = app
        .post(
            "/_sim/clock/advance",
            json!({"seconds": 7 * 86_400 + 1}),
            None,
        )
        .await;
    assert_eq!(advanced.status, StatusCode::OK);
    let after = app
        .stripe_get(&format!("/v1/payment_intents/{pi}"), &[])
        .await;
    assert_eq!(after.json["status"], "canceled");
    assert_eq!(after.json["cancellation_reason"], "automatic");

    let late = app
        .form(
            &format!("/v1/payment_intents/{pi}/capture"),
            &[],
            Some("late"),
        )
        .await;
    assert_stripe_error(
        &late,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "payment_intent_unexpected_state",
    );
    assert_eq!(
        ledger_of(&app, &pi),
        [(EntryKind::Authorization, 3300), (EntryKind::Release, 3300)]
    );
    let events = app
        .stripe_get("/v1/events", &[("type", "charge.expired")])
        .await;
    assert_eq!(events.json["data"][0]["data"]["object"]["captured"], false);
}

#[tokio::test]
async fn a_3ds_intent_waits_for_its_challenge_then_succeeds() {
    let app = spawn_app().await;
    let created = app
        .form(
            "/v1/payment_intents",
            &[
                ("amount", "2100"),
                ("currency", "usd"),
                ("payment_method", "pm_card_authenticationRequired"),
                ("confirm", "true"),
                ("return_url", "https://shop.example/r"),
            ],
            None,
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.json);
    assert_eq!(created.json["status"], "requires_action");
    assert_eq!(created.json["latest_charge"], serde_json::Value::Null);
    let next = &created.json["next_action"];
    assert_eq!(next["type"], "redirect_to_url");
    assert_eq!(
        next["redirect_to_url"]["return_url"],
        "https://shop.example/r"
    );
    let url = next["redirect_to_url"]["url"].as_str().unwrap();
    let pi = id(&created.json).to_string();
    assert!(ledger_of(&app, &pi).is_empty());

    let done = answer(
        app.client
            .post(url)
            .json(&json!({"outcome": "complete"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(done.json["status"], "succeeded", "{}", done.json);
    assert_eq!(
        done.json["redirect_to"],
        format!("https://shop.example/r?payment_intent={pi}&redirect_status=succeeded")
    );
    let after = app
        .stripe_get(&format!("/v1/payment_intents/{pi}"), &[])
        .await;
    assert_eq!(after.json["status"], "succeeded");
    assert_eq!(after.json["next_action"], serde_json::Value::Null);
    let events = app
        .stripe_get("/v1/events", &[("type", "payment_intent.requires_action")])
        .await;
    assert_eq!(events.json["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_return_url_that_is_not_a_web_url_is_refused() {
    let app = spawn_app().await;
    let refused = app
        .form(
            "/v1/payment_intents",
            &[
                ("amount", "100"),
                ("currency", "usd"),
                ("payment_method", "pm_card_threeDSecure2Required"),
                ("confirm", "true"),
                ("return_url", "javascript:alert(1)"),
            ],
            Some("bad-return"),
        )
        .await;
    assert_stripe_error(
        &refused,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "url_invalid",
    );
    assert_eq!(refused.json["error"]["param"], "return_url");
}
