//! `/v1/events` and `/v1/webhook_endpoints` in the Stripe dialect: which events
//! a payment's life makes, newest first; the objects as they were at each
//! change; pages, filters and bad parameters; endpoint CRUD, the secret shown
//! once, and nothing stored from a bad request.

use reqwest::StatusCode;
use serde_json::Value;

use super::{assert_stripe_error, id};
use crate::helpers::{Answer, TestApp, answer, spawn_app};

impl TestApp {
    async fn stripe_delete(&self, path: &str) -> Answer {
        let req = self
            .client
            .delete(self.url(path))
            .bearer_auth(&self.api_key);
        answer(req.send().await.expect("request sent")).await
    }

    /// The event types of a page, in order.
    async fn event_types(&self, query: &[(&str, &str)]) -> Vec<String> {
        let page = self.stripe_get("/v1/events", query).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.json);
        types(&page.json)
    }
}

fn types(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["type"].as_str().expect("a type").to_string())
        .collect()
}

fn find<'a>(page: &'a Value, event_type: &str) -> &'a Value {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == event_type)
        .unwrap_or_else(|| panic!("no {event_type} in {page}"))
}

/// 400 `invalid_request_error` naming `param`.
fn assert_bad_param(a: &Answer, param: &str) {
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{param}: {}", a.json);
    assert_eq!(
        a.json["error"]["type"], "invalid_request_error",
        "{}",
        a.json
    );
    assert_eq!(a.json["error"]["param"], param, "{}", a.json);
}

#[tokio::test]
async fn a_confirmed_payment_intent_makes_three_events_newest_first() {
    let app = spawn_app().await;
    let pi = app
        .form(
            "/v1/payment_intents",
            &[
                ("amount", "1500"),
                ("currency", "usd"),
                ("payment_method", "pm_card_visa"),
                ("confirm", "true"),
            ],
            Some("order-42"),
        )
        .await;
    assert_eq!(pi.status, StatusCode::OK, "{}", pi.json);

    let page = app.stripe_get("/v1/events", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.json);
    assert_eq!(page.json["object"], "list");
    assert_eq!(page.json["url"], "/v1/events");
    assert_eq!(page.json["has_more"], false);
    assert_eq!(
        types(&page.json),
        [
            "payment_intent.succeeded",
            "charge.succeeded",
            "payment_intent.created"
        ]
    );
    for event in page.json["data"].as_array().unwrap() {
        assert!(id(event).starts_with("evt_"), "{event}");
        assert_eq!(event["object"], "event");
        assert_eq!(event["api_version"], "2024-06-20");
        assert_eq!(event["livemode"], false);
        assert_eq!(event["pending_webhooks"], 0);
        assert!(event["created"].as_u64().is_some(), "{event}");
        assert_eq!(event["request"]["idempotency_key"], "order-42", "{event}");
        assert!(event["request"]["id"].is_string(), "{event}");
    }
    let succeeded = find(&page.json, "payment_intent.succeeded");
    assert_eq!(succeeded["data"]["object"]["object"], "payment_intent");
    assert_eq!(succeeded["data"]["object"]["id"], pi.json["id"]);
    assert_eq!(succeeded["data"]["object"]["status"], "succeeded");
    let charge = find(&page.json, "charge.succeeded");
    assert_eq!(charge["data"]["object"]["object"], "charge");
    assert_eq!(charge["data"]["object"]["amount_captured"], 1500);

    // Retrieving an event answers the very object the list showed.
    let one = app
        .stripe_get(&format!("/v1/events/{}", id(succeeded)), &[])
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.json);
    assert_eq!(&one.json, succeeded);
    // The same event is the same bytes every time (a webhook retry resends them).
    let again = app
        .stripe_get(&format!("/v1/events/{}", id(succeeded)), &[])
        .await;
    assert_eq!(again.raw, one.raw);
}

#[tokio::test]
async fn events_show_their_object_as_it_was_at_the_change() {
    let app = spawn_app().await;
    let pi = app.paid_intent("1000", "manual").await;
    let captured = app
        .form(
            &format!("/v1/payment_intents/{}/capture", id(&pi)),
            &[],
            None,
        )
        .await;
    assert_eq!(captured.status, StatusCode::OK, "{}", captured.json);
    let refund = app
        .form(
            "/v1/refunds",
            &[("payment_intent", id(&pi)), ("amount", "300")],
            Some("refund-key"),
        )
        .await;
    assert_eq!(refund.status, StatusCode::OK, "{}", refund.json);

    let page = app.stripe_get("/v1/events", &[("limit", "100")]).await;
    assert_eq!(
        types(&page.json),
        [
            "refund.created",
            "charge.refunded",
            "payment_intent.succeeded",
            "charge.captured",
            "payment_intent.amount_capturable_updated",
            "charge.succeeded",
            "payment_intent.created",
        ]
    );
    // Before the refund: nothing refunded, whatever the charge says now.
    let before = find(&page.json, "charge.captured");
    assert_eq!(before["data"]["object"]["amount_refunded"], 0);
    assert_eq!(
        before["data"]["object"]["refunds"]["data"],
        Value::Array(vec![])
    );
    let capturable = find(&page.json, "payment_intent.amount_capturable_updated");
    assert_eq!(capturable["data"]["object"]["status"], "requires_capture");
    assert_eq!(capturable["data"]["object"]["amount_capturable"], 1000);
    let refunded = find(&page.json, "charge.refunded");
    assert_eq!(refunded["data"]["object"]["amount_refunded"], 300);
    assert_eq!(
        refunded["data"]["object"]["refunds"]["data"][0]["id"],
        refund.json["id"]
    );
    assert_eq!(refunded["request"]["idempotency_key"], "refund-key");
    let created = find(&page.json, "refund.created");
    assert_eq!(created["data"]["object"]["object"], "refund");
    assert_eq!(created["data"]["object"]["id"], refund.json["id"]);
    assert_eq!(created["data"]["object"]["amount"], 300);

    // A cancel makes payment_intent.canceled, its object canceled.
    let other = app.paid_intent("700", "manual").await;
    let canceled = app
        .form(
            &format!("/v1/payment_intents/{}/cancel", id(&other)),
            &[],
            None,
        )
        .await;
    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.json);
    let latest = app.stripe_get("/v1/events", &[("limit", "1")]).await;
    assert_eq!(types(&latest.json), ["payment_intent.canceled"]);
    assert_eq!(latest.json["has_more"], true);
    assert_eq!(
        latest.json["data"][0]["data"]["object"]["status"],
        "canceled"
    );
    assert_eq!(
        latest.json["data"][0]["request"]["idempotency_key"],
        Value::Null
    );
}

#[tokio::test]
async fn pages_walk_every_event_exactly_once() {
    let app = spawn_app().await;
    for amount in ["100", "200", "300", "400"] {
        app.paid_intent(amount, "automatic").await;
    }
    let all = app.stripe_get("/v1/events", &[("limit", "100")]).await;
    let all_ids: Vec<String> = all.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| id(e).to_string())
        .collect();
    assert_eq!(all_ids.len(), 12);

    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "5")];
        if let Some(c) = &cursor {
            query.push(("starting_after", c.as_str()));
        }
        let page = app.stripe_get("/v1/events", &query).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.json);
        pages += 1;
        let data = page.json["data"].as_array().unwrap();
        walked.extend(data.iter().map(|e| id(e).to_string()));
        cursor = data.last().map(|e| id(e).to_string());
        if page.json["has_more"] == false {
            break;
        }
        assert!(pages < 10, "the walk does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(walked, all_ids, "every event once, newest first");
}

#[tokio::test]
async fn filters_by_type_time_and_delivery() {
    let app = spawn_app().await;
    app.paid_intent("100", "automatic").await;
    app.paid_intent("200", "automatic").await;

    assert_eq!(
        app.event_types(&[("type", "charge.succeeded")]).await,
        ["charge.succeeded", "charge.succeeded"]
    );
    assert_eq!(
        app.event_types(&[("type", "payment_intent.*")]).await,
        [
            "payment_intent.succeeded",
            "payment_intent.created",
            "payment_intent.succeeded",
            "payment_intent.created"
        ]
    );
    assert_eq!(
        app.event_types(&[
            ("types[]", "payment_intent.created"),
            ("types[]", "charge.succeeded")
        ])
        .await
        .len(),
        4
    );
    assert_eq!(app.event_types(&[("created[gte]", "0")]).await.len(), 6);
    assert_eq!(app.event_types(&[("created[lt]", "1")]).await.len(), 0);
    assert_eq!(
        app.event_types(&[("created[gt]", "4000000000")])
            .await
            .len(),
        0
    );
    // Without webhook deliveries every event counts as delivered.
    assert_eq!(
        app.event_types(&[("delivery_success", "true")]).await.len(),
        6
    );
    assert_eq!(
        app.event_types(&[("delivery_success", "false")])
            .await
            .len(),
        0
    );
}

#[tokio::test]
async fn bad_event_parameters_answer_400_naming_the_param() {
    let app = spawn_app().await;
    app.paid_intent("100", "automatic").await;
    for (query, param) in [
        (vec![("limit", "0")], "limit"),
        (vec![("limit", "101")], "limit"),
        (vec![("limit", "ten")], "limit"),
        (vec![("type", "payment_intent.exploded")], "type"),
        (vec![("type", "customer.*")], "type"),
        (vec![("types[]", "charge.*")], "types"),
        (
            vec![("type", "charge.succeeded"), ("types[]", "charge.failed")],
            "types",
        ),
        (vec![("created[gte]", "yesterday")], "created[gte]"),
        (vec![("created[after]", "1")], "created[after]"),
        (vec![("delivery_success", "maybe")], "delivery_success"),
        (vec![("ending_before", "evt_x")], "ending_before"),
        (vec![("colour", "red")], "colour"),
    ] {
        let a = app.stripe_get("/v1/events", &query).await;
        assert_bad_param(&a, param);
    }
    let a = app
        .stripe_get("/v1/events", &[("starting_after", "evt_nothing")])
        .await;
    assert_stripe_error(
        &a,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
    );
    assert_eq!(a.json["error"]["param"], "starting_after");
    let a = app.stripe_get("/v1/events/evt_nothing", &[]).await;
    assert_stripe_error(
        &a,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
    );
    assert_eq!(a.json["error"]["param"], "id");
    let a = app.form("/v1/events", &[], None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "events are read-only");
}

#[tokio::test]
async fn one_merchant_sees_neither_the_events_nor_the_endpoints_of_another() {
    let app = spawn_app().await;
    app.paid_intent("100", "automatic").await;
    let mine = app.stripe_get("/v1/events", &[]).await;
    let event = id(&mine.json["data"][0]).to_string();
    let endpoint = app
        .form(
            "/v1/webhook_endpoints",
            &[("url", "https://a.test/h"), ("enabled_events[]", "*")],
            None,
        )
        .await;
    assert_eq!(endpoint.status, StatusCode::OK, "{}", endpoint.json);

    let other = app.as_merchant("sk_test_merchant_b");
    let listed = other.get("/v1/events").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
    assert_eq!(listed.json["data"], Value::Array(vec![]));
    let a = other.get(&format!("/v1/events/{event}")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = other
        .get(&format!("/v1/events?starting_after={event}"))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let endpoint_path = format!("/v1/webhook_endpoints/{}", id(&endpoint.json));
    let a = other.get(&endpoint_path).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = app
        .client
        .delete(app.url(&endpoint_path))
        .bearer_auth("sk_test_merchant_b")
        .send()
        .await
        .expect("request sent");
    assert_eq!(a.status(), StatusCode::NOT_FOUND);
    let a = other.get("/v1/webhook_endpoints").await;
    assert_eq!(a.json["data"], Value::Array(vec![]));
    assert_eq!(app.sim.engine().webhook_endpoints().len(), 1, "still there");
}

#[tokio::test]
async fn webhook_endpoints_are_created_listed_updated_and_deleted() {
    let app = spawn_app().await;
    let created = app
        .form(
            "/v1/webhook_endpoints",
            &[
                ("url", "https://shop.test/stripe/webhooks"),
                ("enabled_events[]", "payment_intent.succeeded"),
                ("enabled_events[]", "charge.refunded"),
                ("description", "orders"),
                ("api_version", "2024-06-20"),
            ],
            Some("endpoint-1"),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.json);
    let e = &created.json;
    assert!(id(e).starts_with("we_"), "{e}");
    assert_eq!(e["object"], "webhook_endpoint");
    assert_eq!(e["url"], "https://shop.test/stripe/webhooks");
    assert_eq!(
        e["enabled_events"],
        serde_json::json!(["payment_intent.succeeded", "charge.refunded"])
    );
    assert_eq!(e["status"], "enabled");
    assert_eq!(e["description"], "orders");
    assert_eq!(e["livemode"], false);
    assert_eq!(e["api_version"], Value::Null);
    assert_eq!(e["metadata"], serde_json::json!({}));
    assert!(e["secret"].as_str().unwrap().starts_with("whsec_"), "{e}");
    let path = format!("/v1/webhook_endpoints/{}", id(e));

    // The secret is shown once.
    let fetched = app.stripe_get(&path, &[]).await;
    assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.json);
    assert!(fetched.json.get("secret").is_none(), "{}", fetched.json);
    assert_eq!(fetched.json["url"], e["url"]);
    let listed = app.stripe_get("/v1/webhook_endpoints", &[]).await;
    assert_eq!(listed.json["object"], "list");
    assert_eq!(listed.json["url"], "/v1/webhook_endpoints");
    assert_eq!(listed.json["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed.json["data"][0]["id"], e["id"]);
    assert!(listed.json["data"][0].get("secret").is_none());

    let updated = app
        .form(
            &path,
            &[
                ("url", "https://shop.test/v2/webhooks"),
                ("enabled_events[]", "*"),
                ("disabled", "true"),
                ("description", ""),
            ],
            None,
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.json);
    assert_eq!(updated.json["url"], "https://shop.test/v2/webhooks");
    assert_eq!(updated.json["enabled_events"], serde_json::json!(["*"]));
    assert_eq!(updated.json["status"], "disabled");
    assert_eq!(updated.json["description"], Value::Null);
    assert!(updated.json.get("secret").is_none());
    let enabled = app.form(&path, &[("disabled", "false")], None).await;
    assert_eq!(enabled.json["status"], "enabled");
    assert_eq!(
        enabled.json["url"], "https://shop.test/v2/webhooks",
        "the rest stays"
    );

    let deleted = app.stripe_delete(&path).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.json);
    assert_eq!(
        deleted.json,
        serde_json::json!({"id": e["id"], "object": "webhook_endpoint", "deleted": true})
    );
    let gone = app.stripe_get(&path, &[]).await;
    assert_stripe_error(
        &gone,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
    );
    assert_eq!(gone.json["error"]["param"], "id");
    assert_eq!(app.stripe_delete(&path).await.status, StatusCode::NOT_FOUND);
    let listed = app.stripe_get("/v1/webhook_endpoints", &[]).await;
    assert_eq!(listed.json["data"], Value::Array(vec![]));
    assert!(app.sim.engine().webhook_endpoints().is_empty());
}

#[tokio::test]
async fn bad_webhook_endpoints_answer_400_naming_the_param_and_store_nothing() {
    let app = spawn_app().await;
    let long_url = format!("https://shop.test/{}", "a".repeat(2048));
    let seventeen: Vec<(&str, &str)> = (0..17)
        .map(|_| ("enabled_events[]", "charge.succeeded"))
        .collect();
    let with_url = |rest: &[(&'static str, &'static str)]| {
        let mut form = vec![("url", "https://shop.test/h")];
        form.extend_from_slice(rest);
        form
    };
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("enabled_events[]", "*")], "url"),
        (vec![("url", ""), ("enabled_events[]", "*")], "url"),
        (vec![("url", "not a url"), ("enabled_events[]", "*")], "url"),
        (
            vec![("url", "shop.test/h"), ("enabled_events[]", "*")],
            "url",
        ),
        (
            vec![("url", "ftp://shop.test/h"), ("enabled_events[]", "*")],
            "url",
        ),
        (vec![("url", "https://"), ("enabled_events[]", "*")], "url"),
        (vec![("url", &long_url), ("enabled_events[]", "*")], "url"),
        (with_url(&[]), "enabled_events"),
        (with_url(&[("enabled_events", "")]), "enabled_events"),
        (
            with_url(&[("enabled_events[]", "payment.succeeded")]),
            "enabled_events",
        ),
        (
            with_url(&[("enabled_events[]", "charge.*")]),
            "enabled_events",
        ),
        (
            [with_url(&[]), seventeen.clone()].concat(),
            "enabled_events",
        ),
        (
            with_url(&[("enabled_events[]", "*"), ("secret", "whsec_mine")]),
            "secret",
        ),
        (
            with_url(&[("enabled_events[]", "*"), ("disabled", "true")]),
            "disabled",
        ),
    ];
    for (form, param) in &cases {
        let a = app.form("/v1/webhook_endpoints", form, None).await;
        assert_bad_param(&a, param);
    }
    assert!(
        app.sim.engine().webhook_endpoints().is_empty(),
        "nothing stored"
    );

    // A bad update changes nothing.
    let created = app
        .form(
            "/v1/webhook_endpoints",
            &with_url(&[("enabled_events[]", "charge.succeeded")]),
            None,
        )
        .await;
    let path = format!("/v1/webhook_endpoints/{}", id(&created.json));
    for (form, param) in [
        (vec![("url", "ftp://x.test/")], "url"),
        (vec![("url", "")], "url"),
        (
            vec![("url", "https://new.test/"), ("enabled_events[]", "nope")],
            "enabled_events",
        ),
        (vec![("enabled_events", "")], "enabled_events"),
        (vec![("disabled", "perhaps")], "disabled"),
    ] {
        let a = app.form(&path, &form, None).await;
        assert_bad_param(&a, param);
    }
    let after = app.stripe_get(&path, &[]).await;
    assert_eq!(after.json["url"], "https://shop.test/h");
    assert_eq!(
        after.json["enabled_events"],
        serde_json::json!(["charge.succeeded"])
    );
    assert_eq!(after.json["status"], "enabled");
    let a = app
        .stripe_get("/v1/webhook_endpoints/we_nothing", &[])
        .await;
    assert_stripe_error(
        &a,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
    );
    assert_eq!(a.json["error"]["param"], "id");
    let a = app
        .form(
            "/v1/webhook_endpoints/we_nothing",
            &[("disabled", "true")],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}
