//! Settlement over the native API and the control plane: fees and the settlement delay on
//! balance transactions, payouts made by advancing the clock, a returned payout, the
//! payout reconciliation report, the bank statement and the discrepancies' answer key.

use std::collections::{BTreeMap, HashMap};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with_behaviour};

const DAY: u64 = 86_400;

impl TestApp {
    async fn advance(&self, seconds: u64) {
        let a = self
            .post("/_sim/clock/advance", json!({"seconds": seconds}), None)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    }

    async fn refund(&self, payment: &str, amount: i64) {
        let a = self
            .post(
                &format!("/v1/payments/{payment}/refunds"),
                json!({"amount": amount}),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    }

    async fn list(&self, path: &str) -> Vec<Value> {
        let a = self.get(path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.json);
        a.json["data"].as_array().expect("a list").clone()
    }

    async fn text(&self, path: &str) -> String {
        let a = self.get(path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        String::from_utf8(a.raw.to_vec()).expect("utf-8")
    }
}

/// A CSV without quoted fields (these tests' references hold no commas) as header → value maps.
fn rows(csv: &str) -> Vec<HashMap<String, String>> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    lines
        .map(|line| {
            header
                .iter()
                .map(|h| h.to_string())
                .zip(line.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn a_capture_books_its_fee_and_waits_the_settlement_delay() {
    let app = spawn_app().await;
    let p = app.create_payment(10_000, true, "order-fee").await;
    let id = p["id"].as_str().unwrap();

    let txns = app
        .list(&format!("/v1/balance-transactions?source={id}"))
        .await;
    assert_eq!(txns.len(), 1, "{txns:?}");
    let t = &txns[0];
    assert_eq!(t["amount"], 10_000);
    assert_eq!(t["fee"], 320, "2.9% + 30 of 100.00");
    assert_eq!(t["net"], 9_680);
    assert_eq!(t["reporting_category"], "charge");
    assert_eq!(t["status"], "pending");
    let created = t["created"].as_u64().unwrap();
    let available_on = t["available_on"].as_u64().unwrap();
    assert_eq!(
        available_on,
        (created / DAY + 2) * DAY,
        "midnight, two days on"
    );

    let balance = app.list("/v1/balance").await;
    assert_eq!(balance[0]["pending"], 9_680);
    assert_eq!(balance[0]["available"], 0);
    assert!(app.list("/v1/payouts").await.is_empty());
}

#[tokio::test]
async fn fees_follow_the_configured_schedule_per_currency() {
    let app = spawn_app_with_behaviour(
        "[gateway.settlement]\ndelay_days = 0\nfees.usd = { percent_bps = 100, fixed = 5 }\nfees.default = { percent_bps = 0, fixed = 7 }\n",
    )
    .await;
    app.create_payment(10_000, true, "usd-order").await;
    let eur = app
        .post(
            "/v1/payments",
            json!({"amount": 10_000, "currency": "eur", "payment_method": "pm_card_visa", "capture": true}),
            None,
        )
        .await;
    assert_eq!(eur.status, StatusCode::OK);
    let fees: BTreeMap<String, i64> = app
        .list("/v1/balance-transactions")
        .await
        .iter()
        .map(|t| {
            (
                t["currency"].as_str().unwrap().to_string(),
                t["fee"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        fees,
        BTreeMap::from([("eur".into(), 7), ("usd".into(), 105)])
    );
}

#[tokio::test]
async fn advancing_the_clock_pays_the_available_balance_out() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let p = app
            .create_payment(10_000, true, &format!("order-{n}"))
            .await;
        ids.push(p["id"].as_str().unwrap().to_string());
    }
    app.refund(&ids[0], 2_000).await;

    app.advance(3 * DAY).await;

    let payouts = app.list("/v1/payouts").await;
    assert_eq!(payouts.len(), 1, "{payouts:?}");
    let po = &payouts[0];
    assert_eq!(po["amount"], 3 * 9_680 - 2_000);
    assert_eq!(po["status"], "paid", "arrived a day after the run");
    assert!(po["arrival_date"].as_u64() > po["created"].as_u64());
    let po_id = po["id"].as_str().unwrap();
    let rows = app
        .list(&format!("/v1/balance-transactions?payout={po_id}"))
        .await;
    assert_eq!(rows.len(), 4);
    let net: i64 = rows.iter().map(|r| r["net"].as_i64().unwrap()).sum();
    assert_eq!(net, po["amount"].as_i64().unwrap());
    let refund = rows
        .iter()
        .find(|r| r["reporting_category"] == "refund")
        .unwrap();
    assert_eq!(
        (refund["amount"].as_i64(), refund["fee"].as_i64()),
        (Some(-2_000), Some(0))
    );

    let balance = app.list("/v1/balance").await;
    assert_eq!(
        (
            balance[0]["available"].as_i64(),
            balance[0]["pending"].as_i64()
        ),
        (Some(0), Some(0))
    );
    let one = app.get(&format!("/v1/payouts/{po_id}")).await;
    assert_eq!(one.json["id"], po_id);
    assert_eq!(
        app.get("/v1/payouts/po_nothing").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_returned_payout_gives_the_money_back_to_the_next_one() {
    let app = spawn_app_with_behaviour("[gateway.settlement]\npayout_failure_rate = 1.0\n").await;
    app.create_payment(10_000, true, "order-returned").await;

    app.advance(3 * DAY).await;

    let payouts = app.list("/v1/payouts").await;
    assert_eq!(
        payouts.len(),
        2,
        "the return is paid out again at once: {payouts:?}"
    );
    let (again, failed) = (&payouts[0], &payouts[1]);
    assert_eq!(failed["status"], "failed");
    assert!(failed["failure_code"].is_string());
    assert_eq!(again["status"], "pending");
    assert_eq!(again["amount"], failed["amount"]);
    let rows = app
        .list(&format!(
            "/v1/balance-transactions?payout={}",
            again["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["reporting_category"], "payout_reversal");
    assert_eq!(rows[0]["id"], failed["failure_balance_transaction"]);
    let statement = app.text("/_sim/reports/bank_statement").await;
    assert_eq!(
        statement.lines().count(),
        1,
        "nothing reached the bank: {statement}"
    );
}

#[tokio::test]
async fn the_report_itemizes_each_payout_with_its_orders() {
    let app = spawn_app().await;
    for n in 0..5 {
        app.create_payment(1_000 + n, true, &format!("order-{n}"))
            .await;
    }
    app.advance(3 * DAY).await;

    let csv = app.text("/_sim/reports/payout_reconciliation").await;
    assert!(csv.starts_with("automatic_payout_id,automatic_payout_effective_at,balance_transaction_id,created,available_on,currency,gross,fee,net,reporting_category,source_id,description,payment_intent_id,charge_id,payment_metadata[order_id]\n"));
    let rows = rows(&csv);
    assert_eq!(rows.len(), 5);
    let mut orders: Vec<&str> = rows
        .iter()
        .map(|r| r["payment_metadata[order_id]"].as_str())
        .collect();
    orders.sort();
    assert_eq!(
        orders,
        ["order-0", "order-1", "order-2", "order-3", "order-4"]
    );
    let payout = app.list("/v1/payouts").await[0].clone();
    let net: i64 = rows.iter().map(|r| r["net"].parse::<i64>().unwrap()).sum();
    assert_eq!(net, payout["amount"].as_i64().unwrap());
    assert!(
        rows.iter()
            .all(|r| r["automatic_payout_id"] == payout["id"].as_str().unwrap())
    );

    let one = app
        .text(&format!(
            "/_sim/reports/payout_reconciliation?payout={}",
            payout["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(one, csv);
    let none = app
        .text("/_sim/reports/payout_reconciliation?from=0&to=1")
        .await;
    assert_eq!(none.lines().count(), 1, "only the header");
    let bad = app
        .get("/_sim/reports/payout_reconciliation?from=yesterday")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let missing = app
        .get("/_sim/reports/payout_reconciliation?payout=po_x")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let statement = rows_of_statement(&app.text("/_sim/reports/bank_statement").await);
    assert_eq!(
        statement,
        vec![(
            payout["id"].as_str().unwrap().to_string(),
            payout["amount"].as_i64().unwrap()
        )]
    );
}

fn rows_of_statement(csv: &str) -> Vec<(String, i64)> {
    rows(csv)
        .iter()
        .map(|r| (r["reference"].clone(), r["amount"].parse().unwrap()))
        .collect()
}

const MISTAKES: &str = "[gateway.settlement.discrepancies]\nmissing_row = 0.1\nduplicate_row = 0.1\nfee_off = 0.1\nlate = 0.1\nunknown_row = 0.1\n";

#[tokio::test]
async fn mistakes_on_purpose_stay_consistent_with_the_money_and_are_in_the_answer_key() {
    let app = spawn_app_with_behaviour(MISTAKES).await;
    for n in 0..200 {
        app.create_payment(10_000, true, &format!("order-{n}"))
            .await;
    }
    app.advance(5 * DAY).await;

    let key = app.get("/_sim/reports/discrepancies").await.json;
    let counts = &key["counts"];
    for kind in [
        "missing_row",
        "duplicate_row",
        "fee_off",
        "late",
        "unknown_row",
    ] {
        assert!(
            counts[kind].as_u64().unwrap() > 0,
            "{kind} never drawn: {counts}"
        );
    }
    let report = rows(&app.text("/_sim/reports/payout_reconciliation").await);
    let listed: Vec<&str> = report
        .iter()
        .map(|r| r["balance_transaction_id"].as_str())
        .collect();
    for d in key["discrepancies"].as_array().unwrap() {
        let txn = d["balance_transaction"].as_str().unwrap();
        let in_report = listed.contains(&txn);
        match d["kind"].as_str().unwrap() {
            "missing_row" => assert!(!in_report, "a missing row is missing"),
            "fee_off" => {
                assert!(in_report);
                assert_ne!(d["fee"], d["expected_fee"]);
                let row = report
                    .iter()
                    .find(|r| r["balance_transaction_id"] == txn)
                    .unwrap();
                assert_eq!(row["fee"], d["fee"].to_string());
            }
            _ => assert!(in_report, "{d}"),
        }
    }
    let captures = report
        .iter()
        .filter(|r| r["reporting_category"] == "charge")
        .count() as u64;
    let expected = 200 - counts["missing_row"].as_u64().unwrap()
        + counts["duplicate_row"].as_u64().unwrap()
        + counts["unknown_row"].as_u64().unwrap();
    assert_eq!(captures, expected);

    // What reached the bank is what the report adds up to, mistakes included.
    let report_net: i64 = report
        .iter()
        .map(|r| r["net"].parse::<i64>().unwrap())
        .sum();
    let banked: i64 = rows_of_statement(&app.text("/_sim/reports/bank_statement").await)
        .iter()
        .map(|(_, amount)| amount)
        .sum();
    assert_eq!(report_net, banked);
}

#[tokio::test]
async fn the_same_seed_and_orders_make_the_same_mistakes_whatever_the_order() {
    let mut kinds = Vec::new();
    for order in [(0..60).collect::<Vec<_>>(), (0..60).rev().collect()] {
        let app = spawn_app_with_behaviour(MISTAKES).await;
        for n in order {
            app.create_payment(10_000, true, &format!("order-{n}"))
                .await;
        }
        app.advance(5 * DAY).await;
        let report = rows(&app.text("/_sim/reports/payout_reconciliation").await);
        let mut by_order: Vec<(String, String, String)> = report
            .iter()
            .map(|r| {
                (
                    r["payment_metadata[order_id]"].clone(),
                    r["fee"].clone(),
                    r["reporting_category"].clone(),
                )
            })
            .collect();
        by_order.sort();
        kinds.push((
            app.get("/_sim/reports/discrepancies").await.json["counts"].clone(),
            by_order,
        ));
    }
    assert_eq!(kinds[0], kinds[1]);
}

#[tokio::test]
async fn settlement_tables_that_cannot_run_are_refused_by_field() {
    let app = spawn_app().await;
    let a = app
        .client
        .put(app.url("/_sim/config"))
        .header("content-type", "application/json")
        .body(json!({"settlement": {"payout_hour": 24}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), StatusCode::BAD_REQUEST);
    let body: Value = a.json().await.unwrap();
    assert!(
        body.to_string().contains("gateway.settlement.payout_hour"),
        "{body}"
    );
}

#[tokio::test]
async fn payouts_are_told_as_native_events_in_the_order_they_happened() {
    let app = spawn_app().await;
    app.create_payment(10_000, true, "order-told").await;
    app.advance(4 * DAY).await;

    let events = app.list("/v1/events?type=payout.*").await;
    let mut told: Vec<(&str, &str, u64)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["data"]["object"]["status"].as_str().unwrap(),
                e["created"].as_u64().unwrap(),
            )
        })
        .collect();
    told.reverse();
    assert_eq!(told.len(), 2, "{events:?}");
    assert_eq!(
        (told[0].0, told[0].1, told[1].0, told[1].1),
        ("payout.created", "pending", "payout.paid", "paid")
    );
    assert_eq!(
        told[1].2 - told[0].2,
        DAY,
        "made at the run, paid a day later"
    );
    let po = &app.list("/v1/payouts").await[0];
    assert_eq!(events[0]["data"]["object"]["id"], po["id"]);
    assert_eq!(events[0]["data"]["object"]["amount"], po["amount"]);
    let paid = app.list("/v1/events?type=payout.paid").await;
    assert_eq!(paid.len(), 1);
}
