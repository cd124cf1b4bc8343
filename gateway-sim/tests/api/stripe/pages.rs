//! Lists over HTTP: newest first, with cursors both ways.

use reqwest::StatusCode;
use serde_json::Value;

use super::id;
use crate::helpers::spawn_app;

#[tokio::test]
async fn lists_page_newest_first_with_cursors() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for amount in ["101", "102", "103", "104", "105"] {
        ids.push(id(&app.paid_intent(amount, "automatic").await).to_string());
    }
    let pending = app
        .form(
            "/v1/payment_intents",
            &[("amount", "9"), ("currency", "usd")],
            None,
        )
        .await;
    let newest_first: Vec<String> = std::iter::once(id(&pending.json).to_string())
        .chain(ids.iter().rev().cloned())
        .collect();
    let page = |json: &Value| -> (Vec<String>, bool) {
        (
            json["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| id(o).to_string())
                .collect(),
            json["has_more"].as_bool().unwrap(),
        )
    };
    let first = app
        .stripe_get("/v1/payment_intents", &[("limit", "4")])
        .await;
    assert_eq!(first.json["url"], "/v1/payment_intents");
    assert_eq!(page(&first.json), (newest_first[..4].to_vec(), true));
    let next = app
        .stripe_get(
            "/v1/payment_intents",
            &[("limit", "4"), ("starting_after", &newest_first[3])],
        )
        .await;
    assert_eq!(page(&next.json), (newest_first[4..].to_vec(), false));
    let back = app
        .stripe_get(
            "/v1/payment_intents",
            &[("limit", "2"), ("ending_before", &newest_first[4])],
        )
        .await;
    assert_eq!(page(&back.json), (newest_first[2..4].to_vec(), true));

    // Charges exist for confirmed PaymentIntents only.
    let charges = app
        .stripe_get(
            "/v1/charges",
            &[("limit", "10"), ("expand[]", "data.payment_intent")],
        )
        .await;
    let (charge_ids, more) = page(&charges.json);
    assert!(!more);
    assert_eq!(charge_ids.len(), 5);
    assert!(charge_ids.iter().all(|c| c.starts_with("ch_")));
    assert_eq!(
        charges.json["data"][0]["payment_intent"]["id"],
        ids[4].as_str()
    );
    let of_one = app
        .stripe_get("/v1/charges", &[("payment_intent", &ids[0])])
        .await;
    assert_eq!(of_one.json["data"][0]["amount"], 101);
    let bad_cursor = app
        .stripe_get("/v1/payment_intents", &[("starting_after", "pi_nope")])
        .await;
    assert_eq!(bad_cursor.status, StatusCode::NOT_FOUND);
    assert_eq!(bad_cursor.json["error"]["param"], "starting_after");
}
