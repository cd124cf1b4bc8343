//! How Stripe requests are read: the API key (Bearer or Basic), form and
//! JSON parameters, and the 400s and 404s for what cannot be read.

use reqwest::StatusCode;
use serde_json::json;

use super::{assert_stripe_error, id};
use crate::helpers::{answer, spawn_app};

#[tokio::test]
async fn authentication_by_bearer_or_basic_and_401_without_a_key() {
    let app = spawn_app().await;
    let none = answer(
        app.client
            .get(app.url("/v1/payment_intents"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_stripe_error(
        &none,
        StatusCode::UNAUTHORIZED,
        "invalid_request_error",
        "missing_api_key",
    );
    let pi = app.paid_intent("300", "automatic").await;
    let basic = answer(
        app.client
            .get(app.url(&format!("/v1/payment_intents/{}", id(&pi))))
            .basic_auth(&app.api_key, Some(""))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        basic.status,
        StatusCode::OK,
        "the same merchant: {}",
        basic.json
    );
    let other = app.as_merchant("sk_test_other");
    let hidden = other.get(&format!("/v1/payment_intents/{}", id(&pi))).await;
    assert_stripe_error(
        &hidden,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
    );
    assert_eq!(
        hidden.json["error"]["message"],
        format!("No such payment_intent: '{}'", id(&pi))
    );
}

#[tokio::test]
async fn bad_requests_get_stripe_shaped_400s_and_404s() {
    let app = spawn_app().await;
    /// A create form, the error code it gets and the parameter it names.
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (vec![("currency", "usd")], "parameter_missing", "amount"),
        (vec![("amount", "10")], "parameter_missing", "currency"),
        (
            vec![("amount", "ten"), ("currency", "usd")],
            "parameter_invalid_integer",
            "amount",
        ),
        (
            vec![("amount", "10"), ("currency", "usd"), ("amout", "1")],
            "parameter_unknown",
            "amout",
        ),
        (
            vec![
                ("amount", "10"),
                ("currency", "usd"),
                ("payment_method", "pm_bogus"),
            ],
            "resource_missing",
            "payment_method",
        ),
        (
            vec![("amount", "10"), ("currency", "usd"), ("confirm", "true")],
            "payment_intent_unexpected_state",
            "payment_method",
        ),
        (
            vec![
                ("amount", "10"),
                ("currency", "usd"),
                ("capture_method", "later"),
            ],
            "parameter_invalid_string",
            "capture_method",
        ),
        (
            vec![
                ("amount", "10"),
                ("currency", "usd"),
                ("expand[]", "customer"),
            ],
            "parameter_invalid_string",
            "expand",
        ),
    ];
    for (form, code, param) in cases {
        let a = app.form("/v1/payment_intents", &form, None).await;
        assert_stripe_error(&a, StatusCode::BAD_REQUEST, "invalid_request_error", code);
        assert_eq!(a.json["error"]["param"], param, "{form:?}");
    }
    assert_eq!(app.sim.engine().stats().payments, 0, "nothing was created");

    // Parameters Stripe takes but the simulator does not model are accepted.
    let described = app
        .form(
            "/v1/payment_intents",
            &[
                ("amount", "10"),
                ("currency", "usd"),
                ("description", "a hat"),
                ("payment_method_types[]", "card"),
            ],
            None,
        )
        .await;
    assert_eq!(described.status, StatusCode::OK, "{}", described.json);

    let unknown = app.stripe_get("/v1/payment_intents/pi_nope", &[]).await;
    assert_stripe_error(
        &unknown,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
    );
    assert_eq!(unknown.json["error"]["param"], "intent");
    let route = app
        .form("/v1/payment_intents/pi_x/verify_microdeposits", &[], None)
        .await;
    assert_stripe_error(
        &route,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "unrecognized_request_url",
    );
    let method = answer(
        app.client
            .delete(app.url("/v1/payment_intents"))
            .bearer_auth(&app.api_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(method.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn json_bodies_and_payment_method_lookups_work_too() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/v1/payment_intents",
            json!({"amount": 450, "currency": "gbp", "payment_method": "pm_card_amex", "confirm": true, "metadata": {"cart": "c-1"}}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    assert_eq!(a.json["status"], "succeeded");
    assert_eq!(a.json["currency"], "gbp");
    assert_eq!(a.json["metadata"]["cart"], "c-1");
    let pm = app
        .stripe_get("/v1/payment_methods/pm_card_chargeDeclinedFraudulent", &[])
        .await;
    assert_eq!(pm.json["object"], "payment_method");
    assert_eq!(pm.json["card"]["last4"], "0019");
    let missing = app.stripe_get("/v1/payment_methods/pm_nope", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
