//! The operator's lookups (`GET /_sim/payments/{id}`, `GET /_sim/payments?reference=`): any
//! merchant's payment with its history (ledger entries, changes and their events, idempotency
//! keys with their arrivals, webhook deliveries).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error_shape, spawn_app, spawn_app_with_behaviour};
use crate::receiver::Receiver;

fn strings<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item[field].as_str().expect("a string"))
        .collect()
}

/// Authorizes 1000 for `reference` with key `{reference}-auth`, then captures 600 with key
/// `{reference}-capture`, sent twice (the second is a replay); the payment's id.
async fn authorize_then_capture_twice(app: &TestApp, reference: &str) -> String {
    let auth_key = format!("{reference}-auth");
    let created = app
        .post(
            "/v1/payments",
            json!({"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa", "capture": false, "reference": reference}),
            Some(&auth_key),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.json);
    let id = created.json["id"].as_str().expect("an id").to_string();
    let capture_key = format!("{reference}-capture");
    for _ in 0..2 {
        let captured = app
            .post(
                &format!("/v1/payments/{id}/capture"),
                json!({"amount": 600}),
                Some(&capture_key),
            )
            .await;
        assert_eq!(captured.status, StatusCode::OK, "{}", captured.json);
    }
    id
}

#[tokio::test]
async fn a_payment_is_found_by_id_with_its_whole_history() {
    let app = spawn_app().await;
    let id = authorize_then_capture_twice(&app, "order-7").await;

    let found = app.get(&format!("/_sim/payments/{id}")).await;

    assert_eq!(found.status, StatusCode::OK, "{}", found.json);
    let h = &found.json;
    assert_eq!(h["merchant"], app.api_key);
    assert_eq!(h["payment"]["id"], id.as_str());
    assert_eq!(h["payment"]["status"], "succeeded");
    assert_eq!(h["payment"]["reference"], "order-7");
    assert_eq!(
        strings(&h["ledger"], "kind"),
        ["authorization", "capture", "release"]
    );
    assert_eq!(
        strings(&h["ledger"], "idempotency_key"),
        ["order-7-auth", "order-7-capture", "order-7-capture"]
    );
    let changes = &h["changes"];
    assert_eq!(strings(changes, "kind"), ["authorized", "captured"]);
    assert_eq!(
        strings(changes, "status"),
        ["requires_capture", "succeeded"]
    );
    assert!(
        changes[0]["request_id"]
            .as_str()
            .is_some_and(|r| r.starts_with("req_")),
        "{changes}"
    );
    let native: Vec<&str> = changes[1]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["dialect"] == "native")
        .map(|e| e["type"].as_str().expect("a type"))
        .collect();
    assert_eq!(native, ["payment.succeeded"]);
    // The events are the ones the events API lists.
    let event_id = changes[1]["events"][0]["id"].as_str().expect("an event id");
    assert!(event_id.starts_with("evt_"), "{event_id}");
    assert_eq!(
        h["idempotency_keys"],
        json!([
            {"key": "order-7-auth", "endpoint": "create", "arrivals": 1, "state": "completed", "response_status": 200},
            {"key": "order-7-capture", "endpoint": "capture", "arrivals": 2, "state": "completed", "response_status": 200},
        ])
    );
    assert_eq!(h["webhook_deliveries"], json!([]));
}

#[tokio::test]
async fn a_decline_shows_in_the_history_with_its_code() {
    let app = spawn_app().await;
    let declined = app
        .post(
            "/v1/payments",
            json!({"amount": 500, "currency": "usd", "payment_method": "pm_card_chargeDeclined", "reference": "order-declined"}),
            None,
        )
        .await;
    assert_eq!(declined.status, StatusCode::PAYMENT_REQUIRED);

    let found = app.get("/_sim/payments?reference=order-declined").await;

    assert_eq!(found.status, StatusCode::OK);
    let h = &found.json["data"][0];
    assert_eq!(h["payment"]["status"], "failed");
    assert_eq!(strings(&h["ledger"], "kind"), ["decline"]);
    assert_eq!(h["changes"][0]["kind"], "failed");
    assert!(h["changes"][0]["decline_code"].is_string(), "{h}");
    assert_eq!(
        h["idempotency_keys"],
        json!([]),
        "its request carried no key"
    );
}

#[tokio::test]
async fn an_order_is_found_across_merchants() {
    let app = spawn_app().await;
    let mine = app.create_payment(1000, true, "order-shared").await;
    let theirs = app
        .as_merchant("sk_test_other_shop")
        .post(
            "/v1/payments",
            json!({"amount": 250, "currency": "eur", "payment_method": "pm_card_visa", "reference": "order-shared"}),
            None,
        )
        .await;
    assert_eq!(theirs.status, StatusCode::OK);
    app.create_payment(1, true, "order-unrelated").await;

    let found = app.get("/_sim/payments?reference=order-shared").await;

    assert_eq!(found.status, StatusCode::OK, "{}", found.json);
    assert_eq!(found.json["object"], "list");
    assert_eq!(found.json["reference"], "order-shared");
    assert_eq!(found.json["has_more"], false);
    let data = &found.json["data"];
    assert_eq!(
        strings(data, "merchant"),
        ["sk_test_merchant_a", "sk_test_other_shop"]
    );
    assert_eq!(data[0]["payment"]["id"], mine["id"]);
    assert_eq!(data[1]["payment"]["id"], theirs.json["id"]);
    assert_eq!(data[1]["ledger"][0]["currency"], "eur");

    let none = app.get("/_sim/payments?reference=order-never").await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.json["data"], json!([]));
    // A reference with characters a URL escapes is found by its decoded form.
    app.create_payment(10, true, "order #9/ü").await;
    let escaped = app
        .get("/_sim/payments?reference=order%20%239%2F%C3%BC")
        .await;
    assert_eq!(
        escaped.json["data"][0]["payment"]["reference"],
        "order #9/ü"
    );
}

#[tokio::test]
async fn the_history_lists_the_webhook_deliveries_of_its_events() {
    let receiver = Receiver::ok().await;
    let app = spawn_app_with_behaviour(&format!(
        "[[gateway.webhooks.endpoints]]\nurl = \"{}\"\ndialect = \"native\"\n",
        receiver.url
    ))
    .await;
    let paid = app.create_payment(1000, true, "order-hooked").await;
    app.create_payment(20, true, "order-other").await;
    let id = paid["id"].as_str().expect("an id");

    let deadline = Instant::now() + Duration::from_secs(10);
    let history = loop {
        let found = app.get(&format!("/_sim/payments/{id}")).await;
        let delivered = found.json["webhook_deliveries"]
            .as_array()
            .is_some_and(|d| !d.is_empty());
        if delivered || Instant::now() > deadline {
            break found.json;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let deliveries = &history["webhook_deliveries"];
    assert_eq!(
        strings(deliveries, "event_type"),
        ["payment.succeeded"],
        "{history}"
    );
    assert_eq!(deliveries[0]["payment_id"], id);
    assert_eq!(deliveries[0]["outcome"], "delivered");
    let event = &history["changes"][0]["events"][0];
    assert_eq!(deliveries[0]["event_id"], event["id"]);
    assert_eq!(event["delivered"], true);
}

#[tokio::test]
async fn unknown_payments_and_missing_references_are_refused() {
    let app = spawn_app().await;
    for path in [
        "/_sim/payments/pay_0000000000000000000000",
        "/_sim/payments/nope",
    ] {
        let missing = app.get(path).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(missing.error_code(), "resource_missing");
        assert_eq!(missing.json["error"]["param"], "id");
        assert_error_shape(&missing);
    }
    for path in ["/_sim/payments", "/_sim/payments?reference="] {
        let bare = app.get(path).await;
        assert_eq!(bare.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(bare.error_code(), "parameter_missing");
        assert_eq!(bare.json["error"]["param"], "reference");
    }
    let malformed = app.get("/_sim/payments/pay_%zz").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    let nested = app.get("/_sim/payments/pay_x/ledger").await;
    assert_eq!(nested.status, StatusCode::NOT_FOUND);
    assert_eq!(nested.error_code(), "unknown_route");
    let posted = app.post("/_sim/payments/pay_x", json!({}), None).await;
    assert_eq!(posted.status, StatusCode::METHOD_NOT_ALLOWED);
}
