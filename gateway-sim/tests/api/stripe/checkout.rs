//! Stripe Checkout: `/v1/checkout/sessions` and the hosted page `/_sim/checkout/{id}`
//! that pays a session through the same engine, ledger and events.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{assert_stripe_error, id, ledger_of};
use crate::helpers::{Answer, TestApp, answer, spawn_app};
use crate::receiver::{Receiver, signature_is_valid};
use gateway_sim::EntryKind;

const SUCCESS: &str = "https://shop.example/done?session={CHECKOUT_SESSION_ID}";

fn session_form<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][unit_amount]", "1500"),
        ("line_items[0][price_data][product_data][name]", "T-shirt"),
        ("line_items[0][quantity]", "2"),
        ("line_items[1][price_data][currency]", "usd"),
        ("line_items[1][price_data][unit_amount]", "250"),
        ("line_items[1][price_data][product_data][name]", "Sticker"),
        ("line_items[1][quantity]", "1"),
        ("success_url", SUCCESS),
        ("cancel_url", "https://shop.example/cart"),
        ("client_reference_id", "order-77"),
        ("metadata[cart]", "c-9"),
        ("customer_email", "buyer@example.com"),
    ];
    form.extend_from_slice(extra);
    form
}

async fn create_session(app: &TestApp, extra: &[(&str, &str)]) -> Value {
    let a = app
        .form("/v1/checkout/sessions", &session_form(extra), None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    a.json
}

/// `POST /_sim/checkout/{id}/pay` as a script: JSON in, JSON out, no key.
async fn pay_json(app: &TestApp, session: &str, pm: &str) -> Answer {
    let response = app
        .client
        .post(app.url(&format!("/_sim/checkout/{session}/pay")))
        .json(&json!({"payment_method": pm}))
        .send()
        .await
        .expect("request sent");
    answer(response).await
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client builds")
}

#[tokio::test]
async fn a_session_is_created_retrieved_listed_and_shows_its_line_items() {
    let app = spawn_app().await;
    let s = create_session(&app, &[]).await;
    let cs = id(&s).to_string();
    assert!(cs.starts_with("cs_test_"), "{cs}");
    assert_eq!(s["object"], "checkout.session");
    assert_eq!(s["status"], "open");
    assert_eq!(s["payment_status"], "unpaid");
    assert_eq!(s["amount_total"], 3250);
    assert_eq!(s["amount_subtotal"], 3250);
    assert_eq!(s["currency"], "usd");
    assert_eq!(s["mode"], "payment");
    assert_eq!(s["client_reference_id"], "order-77");
    assert_eq!(s["metadata"], json!({"cart": "c-9"}));
    assert_eq!(s["customer_email"], "buyer@example.com");
    assert_eq!(s["payment_intent"], Value::Null);
    assert_eq!(s["livemode"], false);
    assert_eq!(s["success_url"], SUCCESS);
    assert_eq!(
        s["expires_at"].as_u64().unwrap() - s["created"].as_u64().unwrap(),
        86_400
    );
    assert_eq!(
        s["url"],
        format!("{}/_sim/checkout/{cs}", app.sim.url()),
        "the hosted page"
    );

    let got = app
        .stripe_get(&format!("/v1/checkout/sessions/{cs}"), &[])
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json, s);

    let items = app
        .stripe_get(&format!("/v1/checkout/sessions/{cs}/line_items"), &[])
        .await;
    assert_eq!(items.status, StatusCode::OK, "{}", items.json);
    assert_eq!(items.json["object"], "list");
    let data = items.json["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["description"], "T-shirt");
    assert_eq!(data[0]["quantity"], 2);
    assert_eq!(data[0]["amount_total"], 3000);
    assert_eq!(data[0]["price"]["unit_amount"], 1500);

    let second = create_session(&app, &[]).await;
    let list = app
        .stripe_get("/v1/checkout/sessions", &[("limit", "1")])
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.json);
    assert_eq!(list.json["data"][0]["id"], second["id"], "newest first");
    assert_eq!(list.json["has_more"], true);
    let next = app
        .stripe_get(
            "/v1/checkout/sessions",
            &[("limit", "1"), ("starting_after", id(&second))],
        )
        .await;
    assert_eq!(next.json["data"][0]["id"], cs);
    assert_eq!(next.json["has_more"], false);
}

#[tokio::test]
async fn paying_through_the_script_endpoint_completes_the_session() {
    let app = spawn_app().await;
    let receiver = Receiver::ok().await;
    let endpoint = app
        .form(
            "/v1/webhook_endpoints",
            &[
                ("url", receiver.url.as_str()),
                ("enabled_events[]", "checkout.session.completed"),
            ],
            None,
        )
        .await;
    assert_eq!(endpoint.status, StatusCode::OK, "{}", endpoint.json);
    let secret = endpoint.json["secret"].as_str().unwrap().to_string();
    let s = create_session(&app, &[]).await;
    let cs = id(&s).to_string();

    let paid = pay_json(&app, &cs, "pm_card_visa").await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.json);
    assert_eq!(paid.json["status"], "complete");
    assert_eq!(paid.json["payment_status"], "paid");
    assert_eq!(paid.json["url"], Value::Null);
    assert_eq!(paid.json["customer_details"]["email"], "buyer@example.com");
    let pi = paid.json["payment_intent"].as_str().unwrap().to_string();

    let intent = app
        .stripe_get(&format!("/v1/payment_intents/{pi}"), &[])
        .await;
    assert_eq!(intent.json["status"], "succeeded");
    assert_eq!(intent.json["amount"], 3250);
    assert_eq!(intent.json["metadata"], json!({"cart": "c-9"}));
    assert_eq!(ledger_of(&app, &pi)[0], (EntryKind::Authorization, 3250));
    assert!(ledger_of(&app, &pi).contains(&(EntryKind::Capture, 3250)));

    let by_intent = app
        .stripe_get("/v1/checkout/sessions", &[("payment_intent", &pi)])
        .await;
    assert_eq!(by_intent.json["data"][0]["id"], cs);
    assert_eq!(by_intent.json["data"].as_array().unwrap().len(), 1);

    let events = app
        .stripe_get("/v1/events", &[("type", "checkout.session.completed")])
        .await;
    assert_eq!(events.json["data"][0]["data"]["object"]["id"], cs);
    assert_eq!(
        events.json["data"][0]["data"]["object"]["payment_intent"],
        pi
    );
    let got = receiver
        .wait_until(Duration::from_secs(5), |got| !got.is_empty())
        .await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event_type(), "checkout.session.completed");
    assert_eq!(got[0].json["data"]["object"]["status"], "complete");
    let header = got[0].headers["stripe-signature"].to_str().unwrap();
    assert!(signature_is_valid(header, &got[0].body, &secret));

    let again = pay_json(&app, &cs, "pm_card_visa").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.json);
    assert!(
        again.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("complete")
    );
    let expire = app
        .form(&format!("/v1/checkout/sessions/{cs}/expire"), &[], None)
        .await;
    assert_eq!(expire.status, StatusCode::BAD_REQUEST, "{}", expire.json);
}

#[tokio::test]
async fn a_declined_card_leaves_the_session_open_for_another_try() {
    let app = spawn_app().await;
    let s = create_session(&app, &[]).await;
    let cs = id(&s).to_string();
    let declined = pay_json(&app, &cs, "pm_card_chargeDeclined").await;
    assert_eq!(
        declined.status,
        StatusCode::PAYMENT_REQUIRED,
        "{}",
        declined.json
    );
    assert_eq!(declined.json["error"]["type"], "card_error");
    assert_eq!(declined.json["error"]["decline_code"], "generic_decline");
    assert_eq!(declined.json["session"]["status"], "open");
    assert_eq!(declined.json["session"]["payment_intent"], Value::Null);

    // The browser's form gets the page again, with the reason.
    let form = no_redirects()
        .post(app.url(&format!("/_sim/checkout/{cs}/pay")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("payment_method=pm_card_chargeDeclined")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::PAYMENT_REQUIRED);
    let page = form.text().await.unwrap();
    assert!(page.contains("class=\"error\""), "{page}");
    assert!(page.contains("declined"), "{page}");

    let paid = no_redirects()
        .post(app.url(&format!("/_sim/checkout/{cs}/pay")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("payment_method=pm_card_visa")
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        paid.headers()["location"],
        format!("https://shop.example/done?session={cs}").as_str()
    );
    let got = app
        .stripe_get(&format!("/v1/checkout/sessions/{cs}"), &[])
        .await;
    assert_eq!(got.json["status"], "complete");
}

#[tokio::test]
async fn a_3ds_card_sends_the_buyer_through_the_challenge_and_back() {
    let app = spawn_app().await;
    let s = create_session(&app, &[("payment_intent_data[capture_method]", "manual")]).await;
    let cs = id(&s).to_string();
    let client = no_redirects();
    let pay = client
        .post(app.url(&format!("/_sim/checkout/{cs}/pay")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("payment_method=pm_card_threeDSecure2Required")
        .send()
        .await
        .unwrap();
    assert_eq!(pay.status(), StatusCode::SEE_OTHER);
    let challenge = pay.headers()["location"].to_str().unwrap().to_string();
    assert!(challenge.contains("/_sim/3ds/"), "{challenge}");
    let open = app
        .stripe_get(&format!("/v1/checkout/sessions/{cs}"), &[])
        .await;
    assert_eq!(open.json["status"], "open", "waiting for the challenge");

    let answered = client
        .post(&challenge)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("outcome=complete")
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), StatusCode::SEE_OTHER);
    let back = answered.headers()["location"].to_str().unwrap().to_string();
    assert!(
        back.starts_with(&app.url(&format!("/_sim/checkout/{cs}/return"))),
        "{back}"
    );
    let returned = client.get(&back).send().await.unwrap();
    assert_eq!(returned.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        returned.headers()["location"],
        format!("https://shop.example/done?session={cs}").as_str()
    );
    let done = app
        .stripe_get(&format!("/v1/checkout/sessions/{cs}"), &[])
        .await;
    assert_eq!(done.json["status"], "complete");
    assert_eq!(
        done.json["payment_status"], "paid",
        "the buyer paid; Stripe says paid for a card authorized for manual capture too"
    );
    let pi = done.json["payment_intent"].as_str().unwrap();
    let intent = app
        .stripe_get(&format!("/v1/payment_intents/{pi}"), &[])
        .await;
    assert_eq!(intent.json["status"], "requires_capture");
    assert_eq!(intent.json["capture_method"], "manual");
}

#[tokio::test]
async fn sessions_expire_after_24_hours_of_simulator_time_and_by_request() {
    let app = spawn_app().await;
    let old = create_session(&app, &[]).await;
    let manual = create_session(&app, &[]).await;
    let expired = app
        .form(
            &format!("/v1/checkout/sessions/{}/expire", id(&manual)),
            &[],
            None,
        )
        .await;
    assert_eq!(expired.status, StatusCode::OK, "{}", expired.json);
    assert_eq!(expired.json["status"], "expired");
    assert_eq!(expired.json["url"], Value::Null);

    let advanced = app
        .post("/_sim/clock/advance", json!({"seconds": 86_400}), None)
        .await;
    assert_eq!(advanced.status, StatusCode::OK);
    let got = app
        .stripe_get(&format!("/v1/checkout/sessions/{}", id(&old)), &[])
        .await;
    assert_eq!(got.json["status"], "expired");
    let events = app
        .stripe_get("/v1/events", &[("type", "checkout.session.expired")])
        .await;
    let expired_ids: Vec<&str> = events.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["object"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(expired_ids, [id(&old), id(&manual)], "newest first");
    let late = pay_json(&app, id(&old), "pm_card_visa").await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.json);
    assert!(app.sim.ledger_entries().is_empty(), "no money moved");
}

#[tokio::test]
async fn another_merchant_cannot_see_a_session() {
    let app = spawn_app().await;
    let s = create_session(&app, &[]).await;
    let other = app.as_merchant("sk_test_merchant_b");
    let a = other
        .get(&format!("/v1/checkout/sessions/{}", id(&s)))
        .await;
    assert_stripe_error(
        &a,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
    );
    let a = other.get("/v1/checkout/sessions").await;
    assert_eq!(a.json["data"], json!([]));
    let a = other
        .get(&format!("/v1/checkout/sessions/{}/line_items", id(&s)))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_sessions_are_refused_with_the_parameter_named() {
    let app = spawn_app().await;
    let without = |name: &str| -> Vec<(&'static str, &'static str)> {
        session_form(&[])
            .into_iter()
            .filter(|(k, _)| !k.starts_with(name))
            .collect()
    };
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (without("line_items"), "line_items"),
        (without("mode"), "mode"),
        (without("success_url"), "success_url"),
        (
            session_form(&[("line_items[0][quantity]", "0")]),
            "line_items[0][quantity]",
        ),
        (
            session_form(&[("line_items[1][price_data][unit_amount]", "-5")]),
            "line_items[1][price_data][unit_amount]",
        ),
        (
            without("mode")
                .into_iter()
                .chain([("mode", "subscription")])
                .collect(),
            "mode",
        ),
        (
            without("success_url")
                .into_iter()
                .chain([("success_url", "/relative")])
                .collect(),
            "success_url",
        ),
        (
            without("success_url")
                .into_iter()
                .chain([("success_url", "javascript:alert(1)")])
                .collect(),
            "success_url",
        ),
        (
            session_form(&[("line_items[0][price]", "price_1")]),
            "line_items",
        ),
    ];
    for (form, param) in cases {
        let a = app.form("/v1/checkout/sessions", &form, None).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{param}: {}", a.json);
        assert_eq!(a.json["error"]["param"], param, "{}", a.json);
    }
    let a = app
        .stripe_get("/v1/checkout/sessions/cs_test_nope", &[])
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = pay_json(&app, "cs_test_nope", "pm_card_visa").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let s = create_session(&app, &[]).await;
    let a = pay_json(&app, id(&s), "pm_card_nonsense").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.json["error"]["param"], "payment_method");
    let a = pay_json(&app, id(&s), "").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let page = app
        .client
        .get(app.url("/_sim/checkout/cs_test_nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_page_escapes_what_the_merchant_sent() {
    let app = spawn_app().await;
    let hostile = "<img src=x onerror=alert(1)>\"'&";
    let s = create_session(
        &app,
        &[
            ("line_items[0][price_data][product_data][name]", hostile),
            ("metadata[<b>note</b>]", hostile),
            ("client_reference_id", "<script>x</script>"),
        ],
    )
    .await;
    let page = app
        .client
        .get(s["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = page.text().await.unwrap();
    assert!(!body.contains("<img"), "{body}");
    assert!(!body.contains("<script"), "{body}");
    assert!(!body.contains("<b>"), "{body}");
    assert!(
        body.contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"),
        "{body}"
    );
    assert!(body.contains("pm_card_visa"));
    assert!(body.contains("pm_card_chargeDeclined"));
    assert!(body.contains("pm_card_threeDSecure2Required"));
    assert!(body.contains(&format!("action=\"/_sim/checkout/{}/pay\"", id(&s))));
}

#[tokio::test]
async fn the_pages_need_no_admin_token() {
    let app = crate::helpers::spawn_app_with(gateway_sim::SimConfig {
        admin_token: Some("secret".into()),
        ..gateway_sim::SimConfig::default()
    })
    .await;
    let s = create_session(&app, &[]).await;
    let page = app
        .client
        .get(s["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let paid = pay_json(&app, id(&s), "pm_card_visa").await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.json);
}
