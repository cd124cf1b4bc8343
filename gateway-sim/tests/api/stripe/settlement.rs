//! Settlement in the Stripe dialect: a charge's `balance_transaction`, `/v1/balance`,
//! `/v1/balance_transactions` (filters and pages) and `/v1/payouts`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

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
