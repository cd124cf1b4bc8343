//! Disputes on the native API: a dispute test card's payment is disputed after
//! `open_after` of simulator time, answered with evidence (decided after
//! `decided_after`) or accepted; the ledger, the payment and the events say so.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with_behaviour};
use gateway_sim::EntryKind;

async fn advance(app: &TestApp, seconds: u64) {
    let a = app
        .post("/_sim/clock/advance", json!({ "seconds": seconds }), None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
}

/// Charges `amount` with the test card `number`, expecting success.
async fn charge_card(app: &TestApp, amount: i64, number: &str, reference: &str) -> String {
    let a = app
        .post(
            "/v1/payments",
            json!({
                "amount": amount, "currency": "usd", "capture": true, "reference": reference,
                "card": {"number": number, "exp_month": 12, "exp_year": 2034},
            }),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    assert_eq!(a.json["status"], "succeeded");
    a.json["id"].as_str().unwrap().to_string()
}

fn ledger_of(app: &TestApp, payment: &str) -> Vec<(EntryKind, i64)> {
    app.sim
        .ledger_entries()
        .into_iter()
        .filter(|e| e.payment_id == payment)
        .map(|e| (e.kind, e.amount))
        .collect()
}

async fn event_types(app: &TestApp) -> Vec<String> {
    let a = app.get("/v1/events?limit=100").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    let mut types: Vec<String> = a.json["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_string())
        .collect();
    types.reverse();
    types
}

/// The payment's one dispute, found through the list's `payment=` filter.
async fn dispute_of(app: &TestApp, payment: &str) -> Value {
    let list = app.get(&format!("/v1/disputes?payment={payment}")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.json);
    let data = list.json["data"].as_array().expect("a list");
    assert_eq!(data.len(), 1, "{}", list.json);
    data[0].clone()
}

#[tokio::test]
async fn a_fraudulent_dispute_opens_after_a_day_and_winning_evidence_reinstates_the_funds() {
    let app = spawn_app().await;
    let pay = charge_card(&app, 2500, "4000000000000259", "order-disputed").await;
    assert!(
        app.get("/v1/disputes").await.json["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    advance(&app, 86_399).await;
    assert_eq!(ledger_of(&app, &pay).len(), 2, "not disputed before a day");
    advance(&app, 1).await;
    let dispute = dispute_of(&app, &pay).await;
    let dp = dispute["id"].as_str().unwrap().to_string();
    assert!(dp.starts_with("dp_"));
    assert_eq!(dispute["status"], "needs_response");
    assert_eq!(dispute["reason"], "fraudulent");
    assert_eq!(dispute["amount"], 2500);
    assert_eq!(dispute["inquiry"], false);
    assert_eq!(dispute["reference"], "order-disputed");
    let payment = app.get(&format!("/v1/payments/{pay}")).await;
    assert_eq!(payment.json["dispute"], dp.as_str());
    assert_eq!(
        ledger_of(&app, &pay),
        [
            (EntryKind::Authorization, 2500),
            (EntryKind::Capture, 2500),
            (EntryKind::Dispute, 2500)
        ]
    );

    // Refunds are refused while the dispute is open, and change nothing.
    let refund = app
        .post(
            &format!("/v1/payments/{pay}/refunds"),
            json!({}),
            Some("r1"),
        )
        .await;
    assert_eq!(refund.status, StatusCode::CONFLICT, "{}", refund.json);
    assert_eq!(refund.error_code(), "charge_disputed");

    let answered = app
        .post(
            &format!("/v1/disputes/{dp}/evidence"),
            json!({"text": "winning_evidence"}),
            Some("ev-1"),
        )
        .await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.json);
    assert_eq!(answered.json["status"], "under_review");
    assert_eq!(answered.json["submission_count"], 1);
    // The same key replays the answer; closing under review is a conflict.
    let replay = app
        .post(
            &format!("/v1/disputes/{dp}/evidence"),
            json!({"text": "winning_evidence"}),
            Some("ev-1"),
        )
        .await;
    assert_eq!(replay.raw, answered.raw);
    let close = app
        .post(&format!("/v1/disputes/{dp}/close"), json!({}), None)
        .await;
    assert_eq!(close.status, StatusCode::CONFLICT, "{}", close.json);

    advance(&app, 7 * 86_400).await;
    let won = app.get(&format!("/v1/disputes/{dp}")).await;
    assert_eq!(won.json["status"], "won", "{}", won.json);
    assert_eq!(won.json["outcome"], "won");
    assert_eq!(
        ledger_of(&app, &pay)[2..],
        [
            (EntryKind::Dispute, 2500),
            (EntryKind::DisputeReversal, 2500)
        ]
    );
    let types = event_types(&app).await;
    let disputes: Vec<&str> = types
        .iter()
        .map(String::as_str)
        .filter(|t| t.starts_with("dispute."))
        .collect();
    assert_eq!(
        disputes,
        [
            "dispute.created",
            "dispute.closed",
            "dispute.funds_reinstated"
        ]
    );

    // Won: the charge can be refunded again.
    let refund = app
        .post(&format!("/v1/payments/{pay}/refunds"), json!({}), None)
        .await;
    assert_eq!(refund.status, StatusCode::OK, "{}", refund.json);
}

#[tokio::test]
async fn losing_evidence_loses_and_the_money_stays_with_the_cardholder() {
    let app = spawn_app_with_behaviour(
        "[gateway.disputes]\nopen_after = \"1h\"\ndecided_after = \"2d\"\n",
    )
    .await;
    let pay = charge_card(&app, 1800, "4000000000002685", "order-pnr").await;
    advance(&app, 3600).await;
    let dispute = dispute_of(&app, &pay).await;
    assert_eq!(dispute["reason"], "product_not_received");
    let dp = dispute["id"].as_str().unwrap();
    let kept = app
        .post(
            &format!("/v1/disputes/{dp}/evidence"),
            json!({"text": "losing_evidence", "submit": false}),
            None,
        )
        .await;
    assert_eq!(kept.json["status"], "needs_response", "{}", kept.json);
    assert_eq!(kept.json["evidence"]["text"], "losing_evidence");
    let submitted = app
        .post(
            &format!("/v1/disputes/{dp}/evidence"),
            json!({"text": "losing_evidence"}),
            None,
        )
        .await;
    assert_eq!(submitted.json["status"], "under_review");
    advance(&app, 2 * 86_400).await;
    let lost = app.get(&format!("/v1/disputes/{dp}")).await;
    assert_eq!(lost.json["status"], "lost");
    assert_eq!(lost.json["outcome"], "lost");
    assert_eq!(
        ledger_of(&app, &pay),
        [
            (EntryKind::Authorization, 1800),
            (EntryKind::Capture, 1800),
            (EntryKind::Dispute, 1800)
        ]
    );
    // Lost: nothing is left to refund.
    let refund = app
        .post(&format!("/v1/payments/{pay}/refunds"), json!({}), None)
        .await;
    assert_eq!(refund.status, StatusCode::CONFLICT, "{}", refund.json);
    // A closed dispute takes no more evidence.
    let late = app
        .post(
            &format!("/v1/disputes/{dp}/evidence"),
            json!({"text": "winning_evidence"}),
            None,
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.json);
    assert_eq!(late.error_code(), "invalid_state");
}

#[tokio::test]
async fn an_accepted_dispute_is_lost_once_and_an_inquiry_moves_no_money() {
    let app = spawn_app().await;
    let fraud = charge_card(&app, 700, "4000000000000259", "order-accept").await;
    let inquiry = charge_card(&app, 900, "4000000000001976", "order-inquiry").await;
    advance(&app, 86_400).await;

    let dp = dispute_of(&app, &fraud).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let closed = app
        .post(&format!("/v1/disputes/{dp}/close"), json!({}), Some("c1"))
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.json);
    assert_eq!(closed.json["status"], "lost");
    let twice = app
        .post(&format!("/v1/disputes/{dp}/close"), json!({}), Some("c2"))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.json);

    let question = dispute_of(&app, &inquiry).await;
    assert_eq!(question["status"], "warning_needs_response");
    assert_eq!(question["inquiry"], true);
    let qid = question["id"].as_str().unwrap();
    app.post(
        &format!("/v1/disputes/{qid}/evidence"),
        json!({"text": "winning_evidence"}),
        None,
    )
    .await;
    advance(&app, 7 * 86_400).await;
    let closed = app.get(&format!("/v1/disputes/{qid}")).await;
    assert_eq!(closed.json["status"], "warning_closed");
    assert_eq!(closed.json["outcome"], "closed");
    assert_eq!(
        ledger_of(&app, &inquiry),
        [(EntryKind::Authorization, 900), (EntryKind::Capture, 900)],
        "an inquiry moves no money"
    );
    let all = app.get("/v1/disputes").await;
    assert_eq!(all.json["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn disputes_refuse_bad_input_and_other_merchants() {
    let app = spawn_app().await;
    let pay = charge_card(&app, 500, "4000000000000259", "order-bad").await;
    advance(&app, 86_400).await;
    let dp = dispute_of(&app, &pay).await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let other = app.as_merchant("sk_test_someone_else");
    assert_eq!(
        other.get(&format!("/v1/disputes/{dp}")).await.status,
        StatusCode::NOT_FOUND
    );
    let theirs = other
        .post(&format!("/v1/disputes/{dp}/close"), json!({}), None)
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/v1/disputes/dp_nope").await.status,
        StatusCode::NOT_FOUND
    );
    for (body, param) in [
        (json!({}), "text"),
        (json!({"text": ""}), "text"),
        (json!({"text": "x", "color": "red"}), "color"),
    ] {
        let a = app
            .post(&format!("/v1/disputes/{dp}/evidence"), body, None)
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.json);
        assert_eq!(a.json["error"]["param"], param, "{}", a.json);
    }
    let filter = app.get("/v1/disputes?charge=ch_x").await;
    assert_eq!(filter.status, StatusCode::BAD_REQUEST);
    assert_eq!(filter.json["error"]["param"], "charge");
    // Nothing above changed the dispute.
    let still = app.get(&format!("/v1/disputes/{dp}")).await;
    assert_eq!(still.json["status"], "needs_response");
    assert_eq!(still.json["submission_count"], 0);
}

#[tokio::test]
async fn the_same_requests_and_clock_moves_write_the_same_ledger() {
    let mut ledgers = Vec::new();
    for _ in 0..2 {
        let app = spawn_app().await;
        for (i, number) in ["4000000000000259", "4000000000002685", "4000000000001976"]
            .iter()
            .enumerate()
        {
            charge_card(&app, 100 + i as i64, number, &format!("det-{i}")).await;
        }
        advance(&app, 86_400).await;
        let list = app.get("/v1/disputes").await;
        for d in list.json["data"].as_array().unwrap() {
            let dp = d["id"].as_str().unwrap();
            app.post(
                &format!("/v1/disputes/{dp}/evidence"),
                json!({"text": "winning_evidence"}),
                None,
            )
            .await;
        }
        advance(&app, 7 * 86_400).await;
        let shape: Vec<(String, EntryKind, i64)> = app
            .sim
            .ledger_entries()
            .into_iter()
            .map(|e| (e.reference.unwrap_or_default(), e.kind, e.amount))
            .collect();
        ledgers.push(shape);
    }
    assert_eq!(ledgers[0], ledgers[1]);
}
