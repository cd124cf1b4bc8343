//! Refunds over HTTP: by charge or by PaymentIntent, partial and several.

use reqwest::StatusCode;

use super::{assert_stripe_error, id};
use crate::helpers::spawn_app;
use gateway_sim::EntryKind;

#[tokio::test]
async fn refunds_by_charge_or_payment_intent_partial_and_several() {
    let app = spawn_app().await;
    let pi = app.paid_intent("1000", "automatic").await;
    let charge = pi["latest_charge"].as_str().unwrap().to_string();
    let first = app
        .form(
            "/v1/refunds",
            &[
                ("charge", &charge),
                ("amount", "300"),
                ("reason", "requested_by_customer"),
            ],
            None,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.json);
    assert_eq!(first.json["object"], "refund");
    assert!(id(&first.json).starts_with("re_"));
    assert_eq!(first.json["charge"], charge.as_str());
    assert_eq!(first.json["payment_intent"], pi["id"]);
    assert_eq!(first.json["currency"], "usd");
    let second = app
        .form(
            "/v1/refunds",
            &[
                ("payment_intent", id(&pi)),
                ("amount", "200"),
                ("expand[]", "charge"),
            ],
            None,
        )
        .await;
    assert_eq!(
        second.json["charge"]["amount_refunded"], 500,
        "{}",
        second.json
    );
    let too_much = app
        .form(
            "/v1/refunds",
            &[("payment_intent", id(&pi)), ("amount", "501")],
            None,
        )
        .await;
    assert_stripe_error(
        &too_much,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "amount_too_large",
    );
    let rest = app
        .form("/v1/refunds", &[("payment_intent", id(&pi))], None)
        .await;
    assert_eq!(rest.json["amount"], 500, "without amount: all that is left");
    let again = app.form("/v1/refunds", &[("charge", &charge)], None).await;
    assert_stripe_error(
        &again,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "charge_already_refunded",
    );

    let fetched = app
        .stripe_get(&format!("/v1/refunds/{}", id(&first.json)), &[])
        .await;
    assert_eq!(fetched.json, first.json);
    let listed = app
        .stripe_get(
            "/v1/refunds",
            &[("payment_intent", id(&pi)), ("limit", "2")],
        )
        .await;
    assert_eq!(listed.json["object"], "list");
    assert_eq!(listed.json["has_more"], true);
    let ids: Vec<&str> = listed.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(ids, vec![id(&rest.json), id(&second.json)], "newest first");
    let charge = app.stripe_get(&format!("/v1/charges/{charge}"), &[]).await;
    assert_eq!(charge.json["amount_refunded"], 1000);
    assert_eq!(charge.json["refunded"], true);
    assert_eq!(charge.json["refunds"]["total_count"], 3);
    let refunded: i64 = app
        .sim
        .ledger_entries()
        .iter()
        .filter(|e| e.kind == EntryKind::Refund)
        .map(|e| e.amount)
        .sum();
    assert_eq!(refunded, 1000);
    let missing = app.stripe_get("/v1/refunds/re_nope", &[]).await;
    assert_stripe_error(
        &missing,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
    );
}
