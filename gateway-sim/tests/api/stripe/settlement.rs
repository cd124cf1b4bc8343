//! Settlement in the Stripe dialect: a charge's `balance_transaction`, `/v1/balance`,
//! `/v1/balance_transactions` (filters and pages), `/v1/payouts`, and the payouts' events
//! (`payout.created`, `payout.paid`, `payout.failed`) listed and delivered signed.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with_behaviour};
use crate::receiver::{Receiver, signature_is_valid};

const SECRET: &str = "whsec_payout_events";

/// A simulator with `settlement` as its `[gateway.settlement]` table and one Stripe endpoint
/// at `receiver` that wants the payouts' events only.
async fn hearing_payouts(receiver: &Receiver, settlement: &str) -> TestApp {
    spawn_app_with_behaviour(&format!(
        "[gateway.settlement]\n{settlement}\n[[gateway.webhooks.endpoints]]\nurl = \"{}\"\nsecret = \"{SECRET}\"\nevents = [\"payout.*\"]\n",
        receiver.url
    ))
    .await
}

impl TestApp {
    /// The merchant's Stripe events of the `payout.*` family, oldest first.
    async fn payout_events(&self) -> Vec<Value> {
        let listed = self
            .stripe_get("/v1/events", &[("type", "payout.*"), ("limit", "100")])
            .await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
        let mut events = listed.json["data"].as_array().expect("a list").clone();
        events.reverse();
        events
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_charge_names_its_balance_transaction_and_payouts_list_it() {
    let app = spawn_app().await;
    let pi = app.paid_intent("5000", "automatic").await;
    let charge = app
        .stripe_get(
            "/v1/charges",
            &[("payment_intent", pi["id"].as_str().unwrap())],
        )
        .await
        .json["data"][0]
        .clone();
    let txn_id = charge["balance_transaction"]
        .as_str()
        .expect("a captured charge has one");
    let txn = app
        .stripe_get(&format!("/v1/balance_transactions/{txn_id}"), &[])
        .await;
    assert_eq!(txn.status, StatusCode::OK, "{}", txn.json);
    assert_eq!(txn.json["object"], "balance_transaction");
    assert_eq!(txn.json["source"], charge["id"]);
    assert_eq!(txn.json["type"], "charge");
    assert_eq!(txn.json["fee"], 175);
    assert_eq!(txn.json["fee_details"][0]["type"], "stripe_fee");

    let balance = app.stripe_get("/v1/balance", &[]).await;
    assert_eq!(balance.json["object"], "balance");
    assert_eq!(balance.json["pending"][0]["amount"], 4_825);

    let a = app
        .post("/_sim/clock/advance", json!({"seconds": 3 * 86_400}), None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let payouts = app.stripe_get("/v1/payouts", &[]).await;
    assert_eq!(payouts.json["object"], "list");
    let po = &payouts.json["data"][0];
    assert_eq!(po["object"], "payout");
    assert_eq!(po["amount"], 4_825);
    assert_eq!(po["automatic"], true);
    let of_payout = app
        .stripe_get(
            "/v1/balance_transactions",
            &[("payout", po["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(of_payout.json["data"].as_array().unwrap().len(), 1);
    assert_eq!(of_payout.json["data"][0]["id"], txn_id);
    let payouts_txns = app
        .stripe_get("/v1/balance_transactions", &[("type", "payout")])
        .await;
    assert_eq!(payouts_txns.json["data"][0]["amount"], -4_825);
    let paged = app
        .stripe_get("/v1/balance_transactions", &[("limit", "1")])
        .await;
    assert_eq!(paged.json["has_more"], true);
    let unknown = app
        .stripe_get("/v1/balance_transactions", &[("colour", "red")])
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let missing = app.stripe_get("/v1/payouts/po_nothing", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_clock_advance_tells_of_a_payout_created_then_paid_listed_and_delivered_signed() {
    let receiver = Receiver::ok().await;
    let app = hearing_payouts(&receiver, "").await;
    app.paid_intent("5000", "automatic").await;
    assert!(app.payout_events().await.is_empty(), "nothing paid out yet");

    app.advance_days(3).await;

    let events = app.payout_events().await;
    assert_eq!(types(&events), ["payout.created", "payout.paid"]);
    let payouts = app.stripe_get("/v1/payouts", &[]).await.json;
    let po = &payouts["data"][0];
    for e in &events {
        assert_eq!(e["object"], "event");
        assert_eq!(e["data"]["object"]["object"], "payout");
        assert_eq!(e["data"]["object"]["id"], po["id"]);
        assert_eq!(e["data"]["object"]["amount"], 4_825);
    }
    // Each event shows the payout as it was: pending when made, paid when it arrived, and
    // each is dated when that happened, not when the clock was moved.
    assert_eq!(events[0]["data"]["object"]["status"], "pending");
    assert_eq!(events[0]["created"], po["created"]);
    assert_eq!(events[1]["data"]["object"]["status"], "paid");
    assert_eq!(events[1]["created"], po["arrival_date"]);
    let paid_only = app
        .stripe_get("/v1/events", &[("types[]", "payout.paid")])
        .await;
    assert_eq!(paid_only.json["data"].as_array().unwrap().len(), 1);

    let got = receiver
        .wait_until(Duration::from_secs(10), |got| got.len() >= 2)
        .await;
    let mut delivered: Vec<(&str, &str)> =
        got.iter().map(|r| (r.event_type(), r.event_id())).collect();
    delivered.sort();
    let mut listed: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["id"].as_str().unwrap()))
        .collect();
    listed.sort();
    assert_eq!(delivered, listed, "each event delivered, none other");
    for r in &got {
        let header = r.headers["stripe-signature"].to_str().unwrap();
        assert!(signature_is_valid(header, &r.body, SECRET), "{header}");
    }

    // Time passing again tells nothing twice.
    app.advance_days(1).await;
    assert_eq!(app.payout_events().await.len(), 2);
}

#[tokio::test]
async fn a_returned_payout_tells_of_its_failure_and_the_payout_made_again() {
    let receiver = Receiver::ok().await;
    let app = hearing_payouts(&receiver, "payout_failure_rate = 1.0").await;
    app.paid_intent("5000", "automatic").await;

    app.advance_days(3).await;

    let events = app.payout_events().await;
    assert_eq!(
        types(&events),
        ["payout.created", "payout.failed", "payout.created"],
        "the returned money is paid out again at the same run"
    );
    let failed = &events[1]["data"]["object"];
    assert_eq!(failed["status"], "failed");
    assert!(failed["failure_code"].is_string(), "{failed}");
    assert!(failed["failure_balance_transaction"].is_string());
    assert_eq!(failed["id"], events[0]["data"]["object"]["id"]);
    assert_ne!(events[2]["data"]["object"]["id"], failed["id"]);
    let got = receiver
        .wait_until(Duration::from_secs(10), |got| got.len() >= 3)
        .await;
    assert_eq!(
        got.iter()
            .filter(|r| r.event_type() == "payout.failed")
            .count(),
        1
    );
}

#[tokio::test]
async fn new_settlement_terms_rebuild_the_books_without_telling_a_payout_twice() {
    let app = spawn_app().await;
    app.paid_intent("5000", "automatic").await;
    app.advance_days(3).await;
    assert_eq!(app.payout_events().await.len(), 2);

    // Other fees: the books are rebuilt from the ledger, the same payout with another amount.
    let put = app
        .client
        .put(app.url("/_sim/config"))
        .json(&json!({"settlement": {"fees": {"default": {"percent_bps": 100, "fixed": 0}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let payouts = app.stripe_get("/v1/payouts", &[]).await.json;
    assert_eq!(
        payouts["data"][0]["amount"], 4_950,
        "rebuilt under the new fee"
    );
    app.advance_days(1).await;

    let events = app.payout_events().await;
    assert_eq!(types(&events), ["payout.created", "payout.paid"]);
    assert_eq!(
        events[0]["data"]["object"]["amount"], 4_825,
        "told as it was then"
    );
}
