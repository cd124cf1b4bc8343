//! The native events API and webhook endpoints, and which door answers
//! `/v1/events`: native clients get native events, Stripe clients (Basic auth,
//! `Stripe-Version`, `sk_`/`rk_` keys) get Stripe's, and neither door knows
//! the other's event ids or endpoints.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Answer, Merchant, TestApp, answer, spawn_app};

/// A key that is not Stripe's, so `/v1/events` is the native door's.
const NATIVE_KEY: &str = "merchant_native_a";

fn types(page: &Value) -> Vec<&str> {
    page["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["type"].as_str().expect("a type"))
        .collect()
}

fn assert_bad_param(a: &Answer, param: &str) {
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{param}: {}", a.json);
    assert_eq!(a.json["error"]["param"], param, "{}", a.json);
}

async fn pay(m: &Merchant<'_>, amount: i64, capture: bool, key: Option<&str>) -> Value {
    let a = m
        .post(
            "/v1/payments",
            json!({"amount": amount, "currency": "usd", "payment_method": "pm_card_visa", "capture": capture}),
            key,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    a.json
}

async fn delete(app: &TestApp, key: &str, path: &str) -> Answer {
    let req = app.client.delete(app.url(path)).bearer_auth(key);
    answer(req.send().await.expect("request sent")).await
}

#[tokio::test]
async fn a_payment_life_makes_native_events_newest_first_with_snapshots() {
    let app = spawn_app().await;
    let m = app.as_merchant(NATIVE_KEY);
    let charged = pay(&m, 1200, true, Some("order-1")).await;
    let page = m.get("/v1/events").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.json);
    assert_eq!(page.json["object"], "list");
    assert_eq!(page.json["has_more"], false);
    assert!(
        page.json.get("url").is_none(),
        "a native list: {}",
        page.json
    );
    assert_eq!(types(&page.json), ["payment.succeeded"]);
    let event = &page.json["data"][0];
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(event["object"], "event");
    assert!(event["created"].as_u64().is_some());
    assert_eq!(event["data"]["object"]["object"], "payment");
    assert_eq!(event["data"]["object"]["id"], charged["id"]);
    assert_eq!(event["request"]["idempotency_key"], "order-1");
    let fetched = m
        .get(&format!("/v1/events/{}", event["id"].as_str().unwrap()))
        .await;
    assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.json);
    assert_eq!(&fetched.json, event);

    let held = pay(&m, 800, false, None).await;
    let id = held["id"].as_str().unwrap();
    let capture = m
        .post(&format!("/v1/payments/{id}/capture"), json!({}), None)
        .await;
    assert_eq!(capture.status, StatusCode::OK, "{}", capture.json);
    let refund = m
        .post(
            &format!("/v1/payments/{id}/refunds"),
            json!({"amount": 300}),
            Some("r-1"),
        )
        .await;
    assert_eq!(refund.status, StatusCode::OK, "{}", refund.json);
    let other = pay(&m, 500, false, None).await;
    let cancel = m
        .post(
            &format!("/v1/payments/{}/cancel", other["id"].as_str().unwrap()),
            json!({}),
            None,
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.json);

    let page = m.get("/v1/events?limit=100").await;
    assert_eq!(
        types(&page.json),
        [
            "payment.canceled",
            "payment.authorized",
            "refund.succeeded",
            "payment.succeeded",
            "payment.authorized",
            "payment.succeeded",
        ]
    );
    let data = page.json["data"].as_array().unwrap();
    assert_eq!(data[0]["data"]["object"]["status"], "canceled");
    assert_eq!(data[1]["request"]["idempotency_key"], Value::Null);
    let refunded = &data[2];
    assert_eq!(refunded["data"]["object"]["object"], "refund");
    assert_eq!(refunded["data"]["object"]["amount"], 300);
    assert_eq!(refunded["request"]["idempotency_key"], "r-1");
    // The capture's event still shows nothing refunded; the payment now does.
    assert_eq!(data[3]["data"]["object"]["amount_captured"], 800);
    assert_eq!(data[3]["data"]["object"]["amount_refunded"], 0);
    assert_eq!(data[3]["data"]["object"]["refunds"], json!([]));
    assert_eq!(data[4]["data"]["object"]["status"], "requires_capture");
    let now = m.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(now.json["amount_refunded"], 300);
}

#[tokio::test]
async fn native_pages_filters_and_bad_parameters() {
    let app = spawn_app().await;
    let m = app.as_merchant(NATIVE_KEY);
    for amount in [100, 200, 300] {
        pay(&m, amount, false, None).await;
    }
    for amount in [400, 500] {
        pay(&m, amount, true, None).await;
    }
    let all = m.get("/v1/events?limit=100").await;
    let all_ids: Vec<&str> = all.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(all_ids.len(), 5);
    let mut walked: Vec<String> = Vec::new();
    let mut path = "/v1/events?limit=2".to_string();
    for expected_more in [true, true, false] {
        let page = m.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.json);
        assert_eq!(page.json["has_more"], expected_more, "{}", page.json);
        let data = page.json["data"].as_array().unwrap();
        walked.extend(data.iter().map(|e| e["id"].as_str().unwrap().to_string()));
        let last = data.last().unwrap()["id"].as_str().unwrap();
        path = format!("/v1/events?limit=2&starting_after={last}");
    }
    assert_eq!(walked, all_ids, "every event once, newest first");

    let authorized = m.get("/v1/events?type=payment.authorized").await;
    assert_eq!(types(&authorized.json), ["payment.authorized"; 3]);
    let payments = m.get("/v1/events?type=payment.*&limit=100").await;
    assert_eq!(payments.json["data"].as_array().unwrap().len(), 5);
    let delivered = m.get("/v1/events?delivery_success=true").await;
    assert_eq!(delivered.json["data"].as_array().unwrap().len(), 5);
    let undelivered = m.get("/v1/events?delivery_success=false").await;
    assert_eq!(undelivered.json["data"], json!([]));

    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("type=payment.exploded", "type"),
        ("type=payment_intent.created", "type"),
        ("delivery_success=maybe", "delivery_success"),
        ("reference=x", "reference"),
    ] {
        assert_bad_param(&m.get(&format!("/v1/events?{query}")).await, param);
    }
    let a = m.get("/v1/events?starting_after=evt_nothing").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.json);
    assert_eq!(a.json["error"]["param"], "starting_after");
    let a = m.get("/v1/events/evt_nothing").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.json);
    assert_eq!(a.json["error"]["code"], "resource_missing");
    assert_eq!(a.json["error"]["param"], "id");
    let a = m.post("/v1/events", json!({}), None).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{}", a.json);
}

#[tokio::test]
async fn stripe_clients_get_stripe_events_and_native_clients_native_ones() {
    let app = spawn_app().await;
    let m = app.as_merchant(NATIVE_KEY);
    pay(&m, 700, true, None).await;

    let native = m.get("/v1/events").await;
    assert_eq!(types(&native.json), ["payment.succeeded"]);
    let native_id = native.json["data"][0]["id"].as_str().unwrap().to_string();

    // The same merchant through the Stripe door: a Stripe-Version header...
    let stripe = app
        .client
        .get(app.url("/v1/events"))
        .bearer_auth(NATIVE_KEY)
        .header("Stripe-Version", "2024-06-20")
        .send()
        .await
        .expect("request sent");
    let stripe = answer(stripe).await;
    assert_eq!(stripe.status, StatusCode::OK, "{}", stripe.json);
    assert_eq!(stripe.json["url"], "/v1/events");
    assert_eq!(
        types(&stripe.json),
        [
            "payment_intent.succeeded",
            "charge.succeeded",
            "payment_intent.created"
        ],
        "a native payment is a PaymentIntent: {}",
        stripe.json
    );
    let stripe_id = stripe.json["data"][0]["id"].as_str().unwrap().to_string();
    assert_ne!(stripe_id, native_id);

    // ...or Basic auth with the key as user.
    let basic = app
        .client
        .get(app.url("/v1/events"))
        .basic_auth(NATIVE_KEY, Some(""))
        .send()
        .await
        .expect("request sent");
    let basic = answer(basic).await;
    assert_eq!(basic.json["url"], "/v1/events", "{}", basic.json);

    // The key's shape decides nothing: native clients use `sk_test_...` keys too.
    let sk = app.get("/v1/events").await;
    assert_eq!(sk.json["url"], Value::Null, "{}", sk.json);
    assert_eq!(sk.json["object"], "list");

    // An event id names its dialect: whoever asks, its own door answers.
    let stripe_event = m.get(&format!("/v1/events/{stripe_id}")).await;
    assert_eq!(stripe_event.status, StatusCode::OK, "{}", stripe_event.json);
    assert_eq!(stripe_event.json["id"], stripe_id.as_str());
    assert!(
        stripe_event.json["api_version"].is_string(),
        "Stripe's shape"
    );
    let native_event = app
        .client
        .get(app.url(&format!("/v1/events/{native_id}")))
        .bearer_auth(NATIVE_KEY)
        .header("Stripe-Version", "2024-06-20")
        .send()
        .await
        .expect("request sent");
    let native_event = answer(native_event).await;
    assert_eq!(native_event.status, StatusCode::OK);
    assert_eq!(
        native_event.json["api_version"],
        Value::Null,
        "native shape"
    );

    // Another merchant sees none of them.
    let other = app.as_merchant("merchant_native_b");
    assert_eq!(other.get("/v1/events").await.json["data"], json!([]));
    assert_eq!(
        other.get(&format!("/v1/events/{native_id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn native_webhook_endpoints_crud_with_the_secret_once() {
    let app = spawn_app().await;
    let m = app.as_merchant(NATIVE_KEY);
    let created = m
        .post(
            "/v1/webhook-endpoints",
            json!({"url": "https://shop.test/native/hooks", "events": ["payment.succeeded", "refund.succeeded"], "description": "orders"}),
            Some("ep-1"),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.json);
    let e = &created.json;
    assert!(e["id"].as_str().unwrap().starts_with("we_"), "{e}");
    assert_eq!(e["object"], "webhook_endpoint");
    assert_eq!(e["url"], "https://shop.test/native/hooks");
    assert_eq!(
        e["events"],
        json!(["payment.succeeded", "refund.succeeded"])
    );
    assert_eq!(e["disabled"], false);
    assert_eq!(e["description"], "orders");
    assert!(e["secret"].as_str().unwrap().starts_with("whsec_"), "{e}");
    let path = format!("/v1/webhook-endpoints/{}", e["id"].as_str().unwrap());

    let fetched = m.get(&path).await;
    assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.json);
    assert!(fetched.json.get("secret").is_none(), "{}", fetched.json);
    let listed = m.get("/v1/webhook-endpoints").await;
    assert_eq!(listed.json["object"], "list");
    assert_eq!(listed.json["data"].as_array().unwrap().len(), 1);
    assert!(listed.json["data"][0].get("secret").is_none());

    let updated = m
        .post(
            &path,
            json!({"events": ["*"], "disabled": true, "description": null}),
            None,
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.json);
    assert_eq!(updated.json["events"], json!(["*"]));
    assert_eq!(updated.json["disabled"], true);
    assert_eq!(updated.json["description"], Value::Null);
    assert_eq!(updated.json["url"], "https://shop.test/native/hooks");

    // Another merchant cannot see, change or delete it.
    let other = app.as_merchant("merchant_native_b");
    assert_eq!(other.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other
            .post(&path, json!({"disabled": false}), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete(&app, "merchant_native_b", &path).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other.get("/v1/webhook-endpoints").await.json["data"],
        json!([])
    );

    let deleted = delete(&app, NATIVE_KEY, &path).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.json);
    assert_eq!(
        deleted.json,
        json!({"id": e["id"], "object": "webhook_endpoint", "deleted": true})
    );
    let gone = m.get(&path).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.json["error"]["param"], "id");
    assert!(app.sim.engine().webhook_endpoints().is_empty());
}

#[tokio::test]
async fn bad_native_webhook_endpoints_answer_400_and_store_nothing() {
    let app = spawn_app().await;
    let m = app.as_merchant(NATIVE_KEY);
    let long_url = format!("https://shop.test/{}", "a".repeat(2048));
    let many: Vec<&str> = vec!["payment.succeeded"; 17];
    for (body, param) in [
        (json!({"events": ["*"]}), "url"),
        (json!({"url": "", "events": ["*"]}), "url"),
        (json!({"url": "nope", "events": ["*"]}), "url"),
        (json!({"url": "mailto:a@shop.test", "events": ["*"]}), "url"),
        (json!({"url": long_url, "events": ["*"]}), "url"),
        (json!({"url": 7, "events": ["*"]}), "url"),
        (json!({"url": "https://shop.test/h"}), "events"),
        (
            json!({"url": "https://shop.test/h", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://shop.test/h", "events": many}),
            "events",
        ),
        (
            json!({"url": "https://shop.test/h", "events": ["payment_intent.succeeded"]}),
            "events",
        ),
        (
            json!({"url": "https://shop.test/h", "events": ["*"], "enabled_events": ["*"]}),
            "enabled_events",
        ),
    ] {
        let a = m.post("/v1/webhook-endpoints", body, None).await;
        assert_bad_param(&a, param);
    }
    assert!(
        app.sim.engine().webhook_endpoints().is_empty(),
        "nothing stored"
    );

    let created = m
        .post(
            "/v1/webhook-endpoints",
            json!({"url": "https://shop.test/h", "events": ["payment.failed"]}),
            None,
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.json);
    let path = format!(
        "/v1/webhook-endpoints/{}",
        created.json["id"].as_str().unwrap()
    );
    for (body, param) in [
        (json!({"url": "ftp://shop.test/"}), "url"),
        (json!({"url": "https://new.test/", "events": []}), "events"),
        (json!({"disabled": "yes"}), "disabled"),
        (json!({"secret": "whsec_x"}), "secret"),
    ] {
        assert_bad_param(&m.post(&path, body, None).await, param);
    }
    let after = m.get(&path).await;
    assert_eq!(after.json["url"], "https://shop.test/h");
    assert_eq!(after.json["events"], json!(["payment.failed"]));
    assert_eq!(after.json["disabled"], false);
    assert_eq!(
        m.get("/v1/webhook-endpoints/we_nothing").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn each_door_sees_only_the_endpoints_registered_through_it() {
    let app = spawn_app().await;
    let m = app.as_merchant(NATIVE_KEY);
    let native = m
        .post(
            "/v1/webhook-endpoints",
            json!({"url": "https://shop.test/n", "events": ["*"]}),
            None,
        )
        .await;
    assert_eq!(native.status, StatusCode::OK, "{}", native.json);
    let stripe = app
        .client
        .post(app.url("/v1/webhook_endpoints"))
        .bearer_auth(NATIVE_KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("url=https%3A%2F%2Fshop.test%2Fs&enabled_events%5B%5D=%2A")
        .send()
        .await
        .expect("request sent");
    let stripe = answer(stripe).await;
    assert_eq!(stripe.status, StatusCode::OK, "{}", stripe.json);

    let native_list = m.get("/v1/webhook-endpoints").await;
    assert_eq!(native_list.json["data"].as_array().unwrap().len(), 1);
    assert_eq!(native_list.json["data"][0]["id"], native.json["id"]);
    let stripe_list = m.get("/v1/webhook_endpoints").await;
    assert_eq!(stripe_list.json["data"].as_array().unwrap().len(), 1);
    assert_eq!(stripe_list.json["data"][0]["id"], stripe.json["id"]);

    let stripe_id = stripe.json["id"].as_str().unwrap();
    let native_id = native.json["id"].as_str().unwrap();
    assert_eq!(
        m.get(&format!("/v1/webhook-endpoints/{stripe_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        m.post(
            &format!("/v1/webhook-endpoints/{stripe_id}"),
            json!({"events": ["payment.succeeded"]}),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        m.get(&format!("/v1/webhook_endpoints/{native_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete(
            &app,
            NATIVE_KEY,
            &format!("/v1/webhook_endpoints/{native_id}")
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.sim.engine().webhook_endpoints().len(), 2);
}
