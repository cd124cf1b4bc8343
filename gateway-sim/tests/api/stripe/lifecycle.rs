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

/// A PaymentIntent confirmed with a card that asks for 3-D Secure: its id and challenge url.
async fn challenged_intent(app: &crate::helpers::TestApp, key: &str) -> (String, String) {
    let created = app
        .form(
            "/v1/payment_intents",
            &[
                ("amount", "1800"),
                ("currency", "usd"),
                ("payment_method", "pm_card_threeDSecure2Required"),
                ("confirm", "true"),
            ],
            Some(key),
        )
        .await;
    assert_eq!(
        created.json["status"], "requires_action",
        "{}",
        created.json
    );
    let url = created.json["next_action"]["redirect_to_url"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    (id(&created.json).to_string(), url)
}

async fn answer_challenge(
    app: &crate::helpers::TestApp,
    url: &str,
    outcome: &str,
) -> crate::helpers::Answer {
    answer(
        app.client
            .post(url)
            .json(&json!({ "outcome": outcome }))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_challenge_nobody_answers_is_abandoned_when_the_clock_passes_abandon_after() {
    let app =
        crate::helpers::spawn_app_with_behaviour("[gateway.three_ds]\nabandon_after = \"30m\"\n")
            .await;
    let (pi, url) = challenged_intent(&app, "abandon-me").await;
    let advance =
        |seconds: u64| app.post("/_sim/clock/advance", json!({ "seconds": seconds }), None);
    assert_eq!(advance(29 * 60).await.status, StatusCode::OK);
    let waiting = app
        .stripe_get(&format!("/v1/payment_intents/{pi}"), &[])
        .await;
    assert_eq!(waiting.json["status"], "requires_action", "not yet");

    assert_eq!(advance(61).await.status, StatusCode::OK);
    let abandoned = app
        .stripe_get(&format!("/v1/payment_intents/{pi}"), &[])
        .await;
    assert_eq!(abandoned.json["status"], "requires_payment_method");
    assert_eq!(
        abandoned.json["last_payment_error"]["code"],
        "payment_intent_authentication_failure"
    );
    assert_eq!(abandoned.json["next_action"], serde_json::Value::Null);
    assert_eq!(
        ledger_of(&app, &pi),
        [(EntryKind::Decline, 0)],
        "no money moved"
    );
    let events = app
        .stripe_get("/v1/events", &[("type", "payment_intent.payment_failed")])
        .await;
    assert_eq!(events.json["data"].as_array().unwrap().len(), 1);
    // The buyer coming back too late is told the challenge is over.
    let late = answer_challenge(&app, &url, "complete").await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.json);
    assert_eq!(ledger_of(&app, &pi).len(), 1);
}

#[tokio::test]
async fn a_second_confirmation_gets_a_fresh_challenge_the_old_page_cannot_answer() {
    let app = spawn_app().await;
    let (pi, first) = challenged_intent(&app, "twice").await;
    let failed = answer_challenge(&app, &first, "fail").await;
    assert_eq!(failed.status, StatusCode::OK, "{}", failed.json);

    let again = app
        .form(
            &format!("/v1/payment_intents/{pi}/confirm"),
            &[("payment_method", "pm_card_threeDSecure2Required")],
            Some("twice-confirm"),
        )
        .await;
    assert_eq!(again.json["status"], "requires_action", "{}", again.json);
    let second = again.json["next_action"]["redirect_to_url"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first, second, "a challenge of its own");
    assert!(second.ends_with("?attempt=2"), "{second}");

    // The first page is over: it neither completes nor fails the new attempt.
    for outcome in ["complete", "fail"] {
        let stale = answer_challenge(&app, &first, outcome).await;
        assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.json);
    }
    let page = app
        .client
        .get(&first)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains(">Complete</button>"), "{page}");
    let still = app
        .stripe_get(&format!("/v1/payment_intents/{pi}"), &[])
        .await;
    assert_eq!(still.json["status"], "requires_action");

    let done = answer_challenge(&app, &second, "complete").await;
    assert_eq!(done.json["status"], "succeeded", "{}", done.json);
    assert_eq!(
        ledger_of(&app, &pi),
        [
            (EntryKind::Decline, 0),
            (EntryKind::Authorization, 1800),
            (EntryKind::Capture, 1800)
        ]
    );
}
