//! The reference merchant service's webhook mode against gateway-sim delivering real,
//! signed webhooks with faults on purpose: each bug flag shows its bug, and its fix holds.

use std::time::{Duration, Instant};

use gateway_sim::GatewaySim;
use payments_e2e::webhook_merchant::{
    Dedupe, EventOrder, Reconcile, WebhookMerchant, WebhookMerchantConfig, signature,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::helpers::spawn_gateway;

const SECRET: &str = "whsec_reference_merchant_e2e";

/// A gateway delivering every native event to a merchant service in webhook mode, with
/// `faults` as the `[gateway.webhooks]` faults (`{ duplicate = 1.0 }`, ...). The service's
/// listener is bound first so the gateway's endpoint can name it.
async fn shop(faults: &str, config: WebhookMerchantConfig) -> (GatewaySim, WebhookMerchant) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let webhooks = format!("http://{}/webhooks", listener.local_addr().expect("bound"));
    let gateway = spawn_gateway(&format!(
        "[gateway.webhooks]\nfaults = {faults}\nretry = {{ first_delay = \"100ms\", factor = 2.0, max_attempts = 3 }}\n\
         [[gateway.webhooks.endpoints]]\nurl = \"{webhooks}\"\nsecret = \"{SECRET}\"\ndialect = \"native\"\n"
    ))
    .await;
    let merchant = WebhookMerchant::start_on(
        listener,
        WebhookMerchantConfig {
            gateway_url: gateway.url(),
            webhook_secret: SECRET.into(),
            // Tests reconcile through POST /reconcile, when they choose.
            reconcile_every: None,
            gateway_timeout: Duration::from_millis(500),
            ..config
        },
    )
    .await
    .expect("the merchant service starts");
    (gateway, merchant)
}

async fn place_order(merchant: &WebhookMerchant, order_id: &str) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{}/orders", merchant.url()))
        .json(&json!({"order_id": order_id, "amount": 2500, "currency": "usd"}))
        .send()
        .await
        .expect("the service answers");
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["order"]["status"], "pending", "{body}");
    body
}

async fn order(merchant: &WebhookMerchant, order_id: &str) -> Value {
    reqwest::get(format!("{}/orders/{order_id}", merchant.url()))
        .await
        .expect("the service answers")
        .json()
        .await
        .expect("JSON")
}

/// Polls the order until `done` holds or 5 seconds pass; returns the last answer either way.
async fn order_when(
    merchant: &WebhookMerchant,
    order_id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let current = order(merchant, order_id).await;
        if done(&current) || Instant::now() >= deadline {
            return current;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (at most 5 s) until the gateway has delivered `n` webhooks.
async fn delivered(gateway: &GatewaySim, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stats: Value = reqwest::get(format!("{}/_sim/stats", gateway.url()))
            .await
            .expect("stats")
            .json()
            .await
            .expect("JSON");
        let count = stats["webhooks"]["delivered"].as_u64().unwrap_or(0);
        if count >= n {
            return;
        }
        assert!(Instant::now() < deadline, "only {count} of {n} delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn reconcile(merchant: &WebhookMerchant) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/reconcile", merchant.url()))
        .send()
        .await
        .expect("the service answers");
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

fn config(dedupe: Dedupe, reconcile: Reconcile) -> WebhookMerchantConfig {
    WebhookMerchantConfig {
        dedupe,
        reconcile,
        ..WebhookMerchantConfig::default()
    }
}

#[tokio::test]
async fn a_signed_webhook_pays_the_order_and_fulfils_it_once() {
    let (_gateway, merchant) = shop("{}", WebhookMerchantConfig::default()).await;
    place_order(&merchant, "order-1").await;
    let paid = order_when(&merchant, "order-1", |o| o["status"] == "paid").await;
    assert_eq!(
        paid,
        json!({"order_id": "order-1", "status": "paid", "fulfillments": 1,
               "amount_paid": 2500, "amount_refunded": 0})
    );
}

#[tokio::test]
async fn without_dedupe_a_duplicated_webhook_fulfils_twice() {
    let (_gateway, merchant) =
        shop("{ duplicate = 1.0 }", config(Dedupe::Off, Reconcile::On)).await;
    place_order(&merchant, "order-dup").await;
    let shipped = order_when(&merchant, "order-dup", |o| o["fulfillments"] == 2).await;
    assert_eq!(shipped["fulfillments"], 2, "{shipped}");
    assert_eq!(shipped["status"], "paid");
}

#[tokio::test]
async fn with_dedupe_a_duplicated_webhook_fulfils_once() {
    let (gateway, merchant) = shop("{ duplicate = 1.0 }", config(Dedupe::On, Reconcile::On)).await;
    place_order(&merchant, "order-dup").await;
    // payment.authorized and payment.succeeded, twice each: every copy has reached the service.
    delivered(&gateway, 4).await;
    let shipped = order(&merchant, "order-dup").await;
    assert_eq!(shipped["status"], "paid", "{shipped}");
    assert_eq!(shipped["fulfillments"], 1, "{shipped}");
}

#[tokio::test]
async fn without_reconciliation_a_dropped_webhook_leaves_the_order_pending() {
    let (_gateway, merchant) = shop("{ drop = 1.0 }", config(Dedupe::On, Reconcile::Off)).await;
    place_order(&merchant, "order-lost").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, _) = reconcile(&merchant).await;
    assert_eq!(status, 404, "this build never reconciles");
    let lost = order(&merchant, "order-lost").await;
    assert_eq!(lost["status"], "pending", "{lost}");
    assert_eq!(lost["fulfillments"], 0);
}

#[tokio::test]
async fn reconciliation_finds_the_dropped_event_in_the_events_list() {
    let (_gateway, merchant) = shop("{ drop = 1.0 }", config(Dedupe::On, Reconcile::On)).await;
    place_order(&merchant, "order-lost").await;
    assert_eq!(order(&merchant, "order-lost").await["status"], "pending");
    let (status, report) = reconcile(&merchant).await;
    assert_eq!(status, 200, "{report}");
    // payment.authorized and payment.succeeded, both dropped.
    assert_eq!(report["applied"], 2, "{report}");
    let found = order(&merchant, "order-lost").await;
    assert_eq!(found["status"], "paid", "{found}");
    assert_eq!(found["fulfillments"], 1);
    // A second pass finds nothing new: the event is handled once. It stops at the newest
    // event the first pass handled, so it lists nothing at all.
    let (_, again) = reconcile(&merchant).await;
    assert_eq!(
        (again["applied"].clone(), again["listed"].clone()),
        (json!(0), json!(0)),
        "{again}"
    );
    assert_eq!(order(&merchant, "order-lost").await["fulfillments"], 1);
    // The next order's events are newer than that mark: listed, and only they.
    place_order(&merchant, "order-lost-2").await;
    let (_, third) = reconcile(&merchant).await;
    assert_eq!(
        (third["applied"].clone(), third["listed"].clone()),
        (json!(2), json!(2)),
        "{third}"
    );
    assert_eq!(order(&merchant, "order-lost-2").await["status"], "paid");
}

#[tokio::test]
async fn a_webhook_with_a_bad_signature_is_refused_and_changes_nothing() {
    // Real deliveries are dropped, so only the forged one reaches the service.
    let (_gateway, merchant) = shop("{ drop = 1.0 }", WebhookMerchantConfig::default()).await;
    let placed = place_order(&merchant, "order-forged").await;
    let forged = json!({
        "id": "evt_forged", "object": "event", "type": "payment.succeeded", "created": 0,
        "data": {"object": {"id": "pay_forged", "status": "succeeded", "amount": 2500,
                            "amount_captured": 2500, "amount_refunded": 0,
                            "reference": "order-forged"}},
        "request": null,
    })
    .to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let client = reqwest::Client::new();
    for header in [
        Some(signature::sign(
            "whsec_not_the_secret",
            now,
            forged.as_bytes(),
        )),
        Some("t=1,v1=00".to_string()),
        None,
    ] {
        let mut request = client
            .post(format!("{}/webhooks", merchant.url()))
            .body(forged.clone());
        if let Some(header) = &header {
            request = request.header("Gateway-Signature", header);
        }
        let r = request.send().await.expect("the service answers");
        assert_eq!(r.status(), 400, "{header:?}");
    }
    let after = order(&merchant, "order-forged").await;
    assert_eq!(after, placed["order"], "nothing changed");
    assert_eq!(after["fulfillments"], 0);
}

/// Pays `order_id` (waiting for its webhooks), then refunds 1000 of its 2500 at the gateway
/// and waits until the gateway has delivered `deliveries` webhooks in all.
async fn pay_then_refund(
    gateway: &GatewaySim,
    merchant: &WebhookMerchant,
    order_id: &str,
    deliveries: u64,
) -> Value {
    place_order(merchant, order_id).await;
    let paid = order_when(merchant, order_id, |o| o["status"] == "paid").await;
    assert_eq!(paid["status"], "paid", "{paid}");
    let payment_id = merchant
        .order(order_id)
        .and_then(|o| o.payment_id)
        .expect("the create call named the payment");
    let refunded = reqwest::Client::new()
        .post(format!(
            "{}/v1/payments/{payment_id}/refunds",
            gateway.url()
        ))
        .bearer_auth(WebhookMerchantConfig::default().api_key)
        .json(&json!({"amount": 1000}))
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(refunded.status(), 200);
    delivered(gateway, deliveries).await;
    order(merchant, order_id).await
}

#[tokio::test]
async fn trusting_each_event_counts_a_duplicated_refund_twice() {
    let trusting = WebhookMerchantConfig {
        event_order: EventOrder::Trust,
        ..config(Dedupe::Off, Reconcile::On)
    };
    let (gateway, merchant) = shop("{ duplicate = 1.0 }", trusting).await;
    // payment.authorized, payment.succeeded and refund.succeeded, each twice.
    let after = pay_then_refund(&gateway, &merchant, "order-refund", 6).await;
    assert_eq!(after["amount_refunded"], 2000, "{after}");
}

#[tokio::test]
async fn reading_the_current_payment_counts_a_duplicated_refund_once() {
    let (gateway, merchant) = shop("{ duplicate = 1.0 }", config(Dedupe::Off, Reconcile::On)).await;
    let after = pay_then_refund(&gateway, &merchant, "order-refund", 6).await;
    assert_eq!(after["amount_refunded"], 1000, "{after}");
    assert_eq!(after["amount_paid"], 2500);
    assert_eq!(after["status"], "paid", "partly refunded is still paid");
}
