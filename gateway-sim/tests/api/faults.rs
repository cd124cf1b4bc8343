//! The fault model over HTTP: each fault family, its interplay with idempotency
//! keys, rate limits, schedules, live config changes and determinism.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Answer, TestApp, answer, spawn_app_with_behaviour};
use gateway_sim::EntryKind;

fn charge(reference: &str) -> serde_json::Value {
    json!({"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa", "reference": reference})
}

/// Sends a create; `Err` when the connection broke or timed out without an answer.
async fn try_create(
    app: &TestApp,
    reference: &str,
    key: Option<&str>,
    timeout: Duration,
) -> Result<Answer, reqwest::Error> {
    let mut req = app
        .client
        .post(app.url("/v1/payments"))
        .bearer_auth(&app.api_key)
        .timeout(timeout)
        .json(&charge(reference));
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    Ok(answer(req.send().await?).await)
}

fn captures(app: &TestApp, reference: &str) -> usize {
    app.sim
        .ledger_entries()
        .iter()
        .filter(|e| e.kind == EntryKind::Capture && e.reference.as_deref() == Some(reference))
        .count()
}

const FIRST_CREATE_RESETS_AFTER_COMMIT: &str = r#"
[[gateway.sequences]]
endpoints = ["create"]
fail_first = 1
fault = "reset_after_commit"
"#;

#[tokio::test]
async fn an_ambiguous_reset_then_a_same_key_retry_charges_once() {
    let app = spawn_app_with_behaviour(FIRST_CREATE_RESETS_AFTER_COMMIT).await;
    let lost = try_create(&app, "order-1", Some("key-1"), Duration::from_secs(5)).await;
    assert!(
        lost.is_err(),
        "the answer must be lost: {:?}",
        lost.map(|a| a.status)
    );
    assert_eq!(captures(&app, "order-1"), 1, "but the charge went through");
    let lookup = app.get("/v1/idempotency-keys/key-1").await;
    assert_eq!(
        lookup.json["status"], "completed",
        "the merchant can find out"
    );

    let retry = try_create(&app, "order-1", Some("key-1"), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(retry.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(captures(&app, "order-1"), 1, "one charge");
    assert_eq!(
        app.get("/_sim/stats").await.json["faults"]["reset_after_commit"],
        1
    );
}

#[tokio::test]
async fn an_ambiguous_500_then_a_retry_without_a_key_charges_twice() {
    let app = spawn_app_with_behaviour(
        "[[gateway.sequences]]\nendpoints = [\"create\"]\nfail_first = 1\nfault = \"http_500_after_commit\"\n",
    )
    .await;
    let first = try_create(&app, "order-2", None, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(first.status, StatusCode::INTERNAL_SERVER_ERROR);
    let retry = try_create(&app, "order-2", None, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(
        captures(&app, "order-2"),
        2,
        "the classic double charge, visible in the ledger"
    );
}

#[tokio::test]
async fn faults_before_processing_charge_nothing_and_store_nothing() {
    for fault in ["http_500", "http_503", "reset"] {
        let app = spawn_app_with_behaviour(&format!(
            "[[gateway.sequences]]\nendpoints = [\"create\"]\nfail_first = 1\nfault = \"{fault}\"\n"
        ))
        .await;
        let first = try_create(&app, "o", Some("k"), Duration::from_secs(5)).await;
        match fault {
            "reset" => assert!(first.is_err(), "a reset gives no answer"),
            "http_503" => assert_eq!(first.unwrap().status, StatusCode::SERVICE_UNAVAILABLE),
            _ => assert_eq!(first.unwrap().status, StatusCode::INTERNAL_SERVER_ERROR),
        }
        assert!(
            app.sim.ledger_entries().is_empty(),
            "{fault}: nothing charged"
        );
        assert_eq!(
            app.get("/v1/idempotency-keys/k").await.status,
            StatusCode::NOT_FOUND,
            "{fault}: nothing stored"
        );
        let retry = try_create(&app, "o", Some("k"), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            retry.status,
            StatusCode::OK,
            "{fault}: the retry runs for real"
        );
        assert!(retry.headers.get("idempotent-replayed").is_none());
        assert_eq!(captures(&app, "o"), 1);
        assert_eq!(
            app.get("/_sim/stats").await.json["faults"][fault],
            1,
            "{fault} is counted"
        );
    }
}

#[tokio::test]
async fn a_hang_gives_no_answer_until_the_client_gives_up() {
    let app = spawn_app_with_behaviour(
        "[[gateway.sequences]]\nendpoints = [\"create\"]\nfail_first = 1\nfault = \"hang\"\n",
    )
    .await;
    let hung = try_create(&app, "o", Some("k"), Duration::from_millis(300)).await;
    assert!(hung.is_err_and(|e| e.is_timeout()), "the client times out");
    assert!(app.sim.ledger_entries().is_empty());
}

#[tokio::test]
async fn a_lost_answer_arrives_late_or_never_but_the_charge_is_recorded() {
    let app = spawn_app_with_behaviour(
        "[gateway.faults]\nlost_after_delay = 1.0\nlost_delay = \"400ms\"\n",
    )
    .await;
    let lost = try_create(&app, "o", Some("k"), Duration::from_millis(200)).await;
    assert!(lost.is_err(), "the client gave up first");
    assert_eq!(
        captures(&app, "o"),
        1,
        "processed before the answer was held"
    );
    // Even a patient client gets no answer: the connection is dropped after the delay.
    let dropped = try_create(&app, "o2", Some("k2"), Duration::from_secs(5)).await;
    assert!(
        dropped.is_err_and(|e| !e.is_timeout()),
        "dropped, not timed out"
    );
    assert_eq!(captures(&app, "o2"), 1);
}

#[tokio::test]
async fn over_the_rate_limit_answers_429_with_retry_after_and_stores_nothing() {
    let app =
        spawn_app_with_behaviour("[gateway.rate_limit]\nrequests_per_second = 2\nburst = 3\n")
            .await;
    let mut answers = Vec::new();
    for i in 0..8 {
        answers.push(
            try_create(
                &app,
                &format!("o{i}"),
                Some(&format!("k{i}")),
                Duration::from_secs(5),
            )
            .await
            .unwrap(),
        );
    }
    let limited: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(
        limited.len() >= 4,
        "burst 3 at 2/s cannot take 8 at once; got {} 429s",
        limited.len()
    );
    for a in &limited {
        assert_eq!(a.json["error"]["type"], "rate_limit_error");
        assert!(
            a.headers
                .get("retry-after")
                .unwrap()
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                >= 1
        );
    }
    let ok = answers.len() - limited.len();
    assert_eq!(
        app.sim.engine().stats().payments as usize,
        ok,
        "429s stored nothing"
    );
    // Another merchant has its own budget.
    let other = app
        .as_merchant("sk_other")
        .post("/v1/payments", charge("x"), None)
        .await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn a_scheduled_outage_window_follows_simulator_time() {
    let app = spawn_app_with_behaviour(
        "[[gateway.schedule]]\nfrom = \"1h\"\nuntil = \"2h\"\nfaults = { http_503 = 1.0 }\n",
    )
    .await;
    let advance = |secs: u64| {
        app.client
            .post(app.url("/_sim/clock/advance"))
            .json(&json!({ "seconds": secs }))
            .send()
    };
    assert_eq!(
        try_create(&app, "a", None, Duration::from_secs(5))
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    advance(3600).await.unwrap();
    assert_eq!(
        try_create(&app, "b", None, Duration::from_secs(5))
            .await
            .unwrap()
            .status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    advance(3600).await.unwrap();
    assert_eq!(
        try_create(&app, "c", None, Duration::from_secs(5))
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn injected_latency_delays_only_its_own_request() {
    let app = spawn_app_with_behaviour(
        "[gateway.endpoints.create]\nlatency = { distribution = \"constant\", value = \"800ms\" }\n",
    )
    .await;
    let auth = app.sim.engine().merchant(&app.api_key);
    let existing = app
        .sim
        .engine()
        .create_payment(
            auth,
            gateway_sim::NewPayment {
                amount: 5,
                currency: gateway_sim::Currency::parse("usd").unwrap(),
                payment_method: gateway_sim::PaymentMethod::Token("pm_card_visa".into()),
                capture: true,
                reference: None,
                metadata: None,
                return_to: Default::default(),
            },
            &gateway_sim::Cause::none(),
            None,
        )
        .unwrap();
    let order = std::sync::Mutex::new(Vec::new());
    let slow = async {
        try_create(&app, "slow", None, Duration::from_secs(5))
            .await
            .unwrap();
        order.lock().unwrap().push("slow");
    };
    let fast = async {
        // Many quick reads while the slow create sleeps: none waits for it.
        for _ in 0..20 {
            assert_eq!(
                app.get(&format!("/v1/payments/{}", existing.id))
                    .await
                    .status,
                StatusCode::OK
            );
        }
        order.lock().unwrap().push("fast");
    };
    tokio::join!(slow, fast);
    assert_eq!(*order.lock().unwrap(), vec!["fast", "slow"]);
}

#[tokio::test]
async fn replacing_the_config_under_load_drops_no_request() {
    let app = spawn_app_with_behaviour("[gateway]\n").await;
    let load = async {
        let mut statuses = Vec::new();
        for round in 0..20 {
            let app = &app;
            let batch = futures::future::join_all((0..10).map(|i| async move {
                let (reference, key) = (format!("r{round}-{i}"), format!("k{round}-{i}"));
                try_create(app, &reference, Some(&key), Duration::from_secs(5)).await
            }))
            .await;
            statuses.extend(
                batch
                    .into_iter()
                    .map(|a| a.expect("no connection is dropped").status),
            );
        }
        statuses
    };
    let flip = async {
        for i in 0..20 {
            let rate = if i % 2 == 0 { 1.0 } else { 0.0 };
            let r = app
                .client
                .put(app.url("/_sim/config"))
                .json(&json!({"faults": {"http_503": rate}}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let (statuses, ()) = tokio::join!(load, flip);
    assert_eq!(statuses.len(), 200);
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(
        app.sim.engine().stats().payments as usize,
        ok,
        "every 200 is one payment, every 503 none"
    );
}

/// What a run did, independent of ids and timing: per order, its fate.
async fn outcome_summary(order: &[usize]) -> Vec<(String, u16)> {
    let app = spawn_app_with_behaviour(
        r#"
[gateway]
seed = 99
[gateway.faults]
http_503 = 0.15
http_500_after_commit = 0.1
[gateway.declines]
rate = 0.2
"#,
    )
    .await;
    let sends = order.iter().map(|i| {
        let app = &app;
        async move {
            let reference = format!("order-{i}");
            let a = try_create(
                app,
                &reference,
                Some(&format!("key-{i}")),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
            (reference, a.status.as_u16())
        }
    });
    // Started in the given order, 16 at a time, finishing in whatever order they do.
    let mut results: Vec<(String, u16)> = futures::StreamExt::collect(
        futures::StreamExt::buffer_unordered(futures::stream::iter(sends), 16),
    )
    .await;
    results.sort();
    let mut ledger: Vec<(String, u16)> = app
        .sim
        .ledger_entries()
        .into_iter()
        .map(|e| (e.reference.unwrap_or_default(), e.kind as u16 + 1000))
        .collect();
    ledger.sort();
    results.extend(ledger);
    results
}

#[tokio::test]
async fn the_same_seed_and_requests_give_the_same_outcomes_in_any_order() {
    let forward: Vec<usize> = (0..300).collect();
    let mut shuffled = forward.clone();
    // A fixed permutation: reverse, then interleave halves.
    shuffled.reverse();
    let (a, b) = shuffled.split_at(150);
    let shuffled: Vec<usize> = a.iter().zip(b).flat_map(|(x, y)| [*x, *y]).collect();

    let first = outcome_summary(&forward).await;
    let second = outcome_summary(&shuffled).await;
    assert_eq!(first, second);
    let statuses: std::collections::BTreeSet<u16> = first
        .iter()
        .map(|(_, s)| *s)
        .filter(|s| *s < 1000)
        .collect();
    assert!(
        statuses.is_superset(&[200, 402, 500, 503].into()),
        "the mix exercised every family: {statuses:?}"
    );
}
