//! `loadgen settle`: against a gateway-sim making every kind of settlement mistake on
//! purpose, the check finds each one, as many as the answer key lists; a clean gateway
//! passes; `--score` grades a merchant's flagged ids by precision and recall.

use crate::common;
use std::collections::BTreeMap;

use gateway_sim::GatewaySim;
use loadgen::settle::{KINDS, SettleOptions, Terms, settle};
use serde_json::{Value, json};

const MISTAKES: &str = "\
[gateway.settlement]
payout_hour = 6
[gateway.settlement.discrepancies]
missing_row = 0.05
duplicate_row = 0.05
fee_off = 0.05
late = 0.05
unknown_row = 0.05
";

/// Captures `orders` payments through the native API, refunding a part of every fifth.
async fn trade(sim: &GatewaySim, orders: usize) {
    let client = reqwest::Client::new();
    for n in 0..orders {
        let p: Value = client
            .post(format!("{}/v1/payments", sim.url()))
            .bearer_auth("sk_test_settle")
            .json(&json!({"amount": 1_000 + n as i64 * 7, "currency": "usd", "payment_method": "pm_card_visa", "capture": true, "reference": format!("order-{n}")}))
            .send()
            .await
            .expect("create sent")
            .json()
            .await
            .expect("a payment");
        if n % 5 == 0 {
            let id = p["id"].as_str().expect("an id");
            let refund = client
                .post(format!("{}/v1/payments/{id}/refunds", sim.url()))
                .bearer_auth("sk_test_settle")
                .json(&json!({"amount": 300}))
                .send()
                .await
                .expect("refund sent");
            assert!(refund.status().is_success());
        }
    }
}

fn terms_of(scenario: &str) -> Terms {
    let gateway = gateway_sim::parse_scenario_gateway(scenario).expect("valid [gateway]");
    Terms::from_config(&gateway.settlement)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_mistake_is_found_as_often_as_the_answer_key_says() {
    let _turn = crate::common::load_turn_shared().await;
    let sim = common::start_sim(MISTAKES, 11).await;
    trade(&sim, 400).await;

    let settlement = settle(&SettleOptions {
        target: sim.url(),
        admin_token: None,
        terms: terms_of(MISTAKES),
        advance_days: None,
    })
    .await
    .expect("settled");

    for kind in KINDS {
        let key = settlement.key_counts[kind];
        assert!(key > 0, "{kind} never drawn over 400 orders");
        assert_eq!(
            settlement.findings.count(kind),
            key,
            "{kind}: {:?}",
            settlement.findings
        );
    }
    assert!(settlement.findings.payout_mismatches.is_empty());
    assert_eq!(
        settlement.findings.banked,
        settlement.findings.banked_rows_net
    );
    assert!(settlement.passed());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_gateway_settles_without_findings_and_the_cli_passes() {
    let _turn = crate::common::load_turn_shared().await;
    let sim = common::start_sim("", 3).await;
    trade(&sim, 50).await;
    let url = sim.url();
    let out = tokio::task::spawn_blocking(move || {
        common::loadgen_command()
            .args(["settle", "--target", &url])
            .output()
            .expect("loadgen runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for kind in KINDS {
        assert!(
            stdout.contains(&format!("{kind:<14} found      0  answer key      0  ok")),
            "{stdout}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn score_grades_flagged_ids_per_kind_and_fails_under_the_thresholds() {
    let _turn = crate::common::load_turn_shared().await;
    let sim = common::start_sim(MISTAKES, 11).await;
    trade(&sim, 200).await;
    let client = reqwest::Client::new();
    client
        .post(format!("{}/_sim/clock/advance", sim.url()))
        .json(&json!({"seconds": 6 * 86_400}))
        .send()
        .await
        .unwrap();
    let key: Value = client
        .get(format!("{}/_sim/reports/discrepancies", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = key["discrepancies"].as_array().unwrap();
    let dir = common::scratch_dir("settle-score");
    let all: String = entries
        .iter()
        .map(|e| format!("{}\n", e["balance_transaction"].as_str().unwrap()))
        .collect();
    let perfect = dir.join("perfect.txt");
    std::fs::write(&perfect, all).unwrap();
    // Every fee_off found, nothing else: recall 0 for the other kinds.
    let half = dir.join("half.csv");
    let fee_only: String = entries
        .iter()
        .filter(|e| e["kind"] == "fee_off")
        .map(|e| format!("{},fee_off\n", e["balance_transaction"].as_str().unwrap()))
        .collect();
    std::fs::write(&half, format!("id,kind\n{fee_only}txn_invented,late\n")).unwrap();

    let scores = loadgen::settle::score_file(&sim.url(), None, &perfect)
        .await
        .unwrap();
    assert!(
        scores.iter().all(|s| s.precision == 1.0 && s.recall == 1.0),
        "{scores:?}"
    );
    let scores: BTreeMap<String, (f64, f64)> = loadgen::settle::score_file(&sim.url(), None, &half)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.kind, (s.precision, s.recall)))
        .collect();
    assert_eq!(scores["fee_off"], (1.0, 1.0));
    assert_eq!(scores["late"], (0.0, 0.0));
    assert_eq!(scores["missing_row"].1, 0.0);

    let (url, perfect2, half2) = (sim.url(), perfect.clone(), half.clone());
    let codes = tokio::task::spawn_blocking(move || {
        [perfect2, half2].map(|f| {
            common::loadgen_command()
                .args(["settle", "--target", &url, "--score"])
                .arg(&f)
                .output()
                .expect("loadgen runs")
                .status
                .code()
        })
    })
    .await
    .unwrap();
    assert_eq!(codes, [Some(0), Some(1)]);
    std::fs::remove_dir_all(dir).ok();
}
