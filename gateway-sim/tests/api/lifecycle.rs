//! A payment's life after its first answer: uncaptured authorizations expire in
//! simulator time, and cards that ask for 3-D Secure wait for the buyer.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, answer, spawn_app, spawn_app_with};
use gateway_sim::{EntryKind, EntryReason};

async fn advance(app: &TestApp, seconds: u64) {
    let a = app
        .post("/_sim/clock/advance", json!({ "seconds": seconds }), None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
}

async fn native_event_types(app: &TestApp) -> Vec<String> {
    let a = app.get("/v1/events?limit=100").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    a.json["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn an_uncaptured_authorization_expires_when_the_clock_passes_its_validity() {
    let behaviour =
        gateway_sim::parse_scenario_gateway("[gateway.authorizations]\nvalidity = \"2d\"\n")
            .expect("a valid table");
    assert_eq!(
        behaviour.authorizations.validity,
        Some(std::time::Duration::from_secs(2 * 86_400))
    );
    let app = spawn_app_with(gateway_sim::SimConfig {
        behaviour,
        ..Default::default()
    })
    .await;
    let p = app.create_payment(1500, false, "order-expiring").await;
    let id = p["id"].as_str().unwrap().to_string();
    let capture_before = p["capture_before"].as_u64().expect("capture_before shown");
    assert!(capture_before >= p["created"].as_u64().unwrap() + 2 * 86_400 - 1);

    advance(&app, 86_400).await;
    let still = app.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(still.json["status"], "requires_capture");

    advance(&app, 86_400 + 1).await;
    let expired = app.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(expired.json["status"], "canceled");
    assert_eq!(expired.json["cancellation_reason"], "expired");
    assert_eq!(expired.json["amount_capturable"], 0);

    let ledger = app.sim.ledger_entries();
    let release = ledger.last().expect("entries");
    assert_eq!(release.kind, EntryKind::Release);
    assert_eq!(release.amount, 1500);
    assert_eq!(release.reason, Some(EntryReason::Expired));
    assert_eq!(release.idempotency_key, None);
    assert!(
        native_event_types(&app)
            .await
            .contains(&"payment.canceled".to_string())
    );

    // A late capture is refused and stores nothing under its key.
    let late = app
        .post(
            &format!("/v1/payments/{id}/capture"),
            json!({}),
            Some("late-capture"),
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.json);
    assert_eq!(late.error_code(), "invalid_state");
    let key = app.get("/v1/idempotency-keys/late-capture").await;
    assert_eq!(key.status, StatusCode::NOT_FOUND, "{}", key.json);
    assert_eq!(app.sim.ledger_entries().len(), ledger.len());
}

#[tokio::test]
async fn a_capture_in_time_is_not_expired_later() {
    let app = spawn_app().await;
    let p = app.create_payment(700, false, "order-in-time").await;
    let id = p["id"].as_str().unwrap();
    let captured = app
        .post(&format!("/v1/payments/{id}/capture"), json!({}), None)
        .await;
    assert_eq!(captured.json["status"], "succeeded");
    advance(&app, 8 * 86_400).await;
    let after = app.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(after.json["status"], "succeeded");
    assert!(app.sim.ledger_entries().iter().all(|e| e.reason.is_none()));
}

/// The same requests expire in the same order with the same entries, whatever
/// the (random) payment ids.
#[tokio::test]
async fn expiry_is_deterministic_across_two_runs() {
    async fn run() -> Vec<(EntryKind, i64, Option<String>, Option<EntryReason>)> {
        let app = spawn_app().await;
        for n in 0..20 {
            app.create_payment(100 + n, n % 3 == 0, &format!("order-{n}"))
                .await;
        }
        advance(&app, 7 * 86_400 + 1).await;
        app.sim
            .ledger_entries()
            .into_iter()
            .map(|e| (e.kind, e.amount, e.reference, e.reason))
            .collect()
    }
    let first = run().await;
    assert_eq!(
        first
            .iter()
            .filter(|e| e.3 == Some(EntryReason::Expired))
            .count(),
        13
    );
    assert_eq!(first, run().await);
}

async fn challenged(app: &TestApp, capture: bool, extra: Value) -> Value {
    let mut body = json!({
        "amount": 2500,
        "currency": "eur",
        "card": {"number": "4000002760003184", "exp_month": 12, "exp_year": 2034},
        "capture": capture,
        "reference": "order-3ds",
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let a = app.post("/v1/payments", body, Some("3ds-create")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    a.json
}

async fn post_outcome(app: &TestApp, url: &str, outcome: &str) -> crate::helpers::Answer {
    answer(
        app.client
            .post(url)
            .json(&json!({ "outcome": outcome }))
            .send()
            .await
            .expect("sent"),
    )
    .await
}

#[tokio::test]
async fn a_native_3ds_payment_waits_for_the_buyer_then_proceeds() {
    let app = spawn_app().await;
    let p = challenged(&app, false, json!({})).await;
    assert_eq!(p["status"], "requires_action");
    let url = p["action_url"].as_str().expect("action_url").to_string();
    assert!(url.starts_with(&app.sim.url()), "{url}");
    assert!(
        app.sim.ledger_entries().is_empty(),
        "no money before the challenge"
    );

    // No API key or admin token needed: the buyer's browser opens it.
    let page = app.client.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );

    let done = post_outcome(&app, &url, "complete").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.json);
    assert_eq!(done.json["status"], "requires_capture");
    let kinds: Vec<EntryKind> = app.sim.ledger_entries().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EntryKind::Authorization]);
    let types = native_event_types(&app).await;
    assert!(
        types.contains(&"payment.requires_action".to_string()),
        "{types:?}"
    );
    assert!(
        types.contains(&"payment.authorized".to_string()),
        "{types:?}"
    );

    let again = post_outcome(&app, &url, "fail").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.json);
    let bad = post_outcome(&app, &url, "maybe").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let missing = post_outcome(
        &app,
        &format!("{}/_sim/3ds/pay_000000000000000000000000", app.sim.url()),
        "complete",
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_failed_challenge_moves_no_money_and_a_browser_is_sent_back() {
    let app = spawn_app().await;
    let p = challenged(
        &app,
        true,
        json!({"return_url": "https://shop.example/back?o=1"}),
    )
    .await;
    let url = p["action_url"].as_str().unwrap().to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sent_back = client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("outcome=fail")
        .send()
        .await
        .unwrap();
    assert_eq!(sent_back.status(), StatusCode::SEE_OTHER);
    let id = p["id"].as_str().unwrap();
    assert_eq!(
        sent_back.headers()["location"].to_str().unwrap(),
        format!("https://shop.example/back?o=1&payment={id}&redirect_status=failed")
    );
    let after = app.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(after.json["status"], "failed");
    assert_eq!(
        after.json["decline_code"],
        "payment_intent_authentication_failure"
    );
    assert!(app.sim.ledger_entries().iter().all(|e| e.amount == 0));
}

#[tokio::test]
async fn the_challenge_page_escapes_what_the_merchant_wrote() {
    let app = spawn_app().await;
    let p = challenged(
        &app,
        true,
        json!({
            "return_url": "https://shop.example/r?a=\"><script>alert(1)</script>",
            "metadata": {"note": "<img src=x onerror=alert(2)>"},
        }),
    )
    .await;
    let url = p["action_url"].as_str().unwrap();
    let html = app
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{html}"
    );
    assert!(html.contains("&quot;&gt;&lt;script&gt;"), "{html}");
    assert!(html.contains(">Complete</button>") && html.contains(">Fail</button>"));
}

#[tokio::test]
async fn answering_a_challenge_takes_the_configured_authentication_latency() {
    let behaviour = gateway_sim::parse_scenario_gateway(
        "[gateway.three_ds]\nlatency = { distribution = \"constant\", value = \"300ms\" }\n",
    )
    .expect("a valid table");
    let app = spawn_app_with(gateway_sim::SimConfig {
        behaviour,
        ..Default::default()
    })
    .await;
    let p = challenged(&app, true, json!({})).await;
    let started = std::time::Instant::now();
    let done = post_outcome(&app, p["action_url"].as_str().unwrap(), "complete").await;
    assert_eq!(done.json["status"], "succeeded", "{}", done.json);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
}
