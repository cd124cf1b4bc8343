//! Faults the client meets on the wire, over a real socket: a body cut short after a 200, a body
//! dribbled slowly, a load balancer's HTML 502, a connection closed without a byte. Each in its
//! before-processing and after-commit variant where it has both, with what was charged.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{TestApp, answer, spawn_app_with_behaviour};
use crate::raw::{create_request, exchange};
use gateway_sim::EntryKind;

/// The first create of each key gets `fault`; its retry behaves.
fn first_create(fault: &str) -> String {
    format!(
        "[[gateway.sequences]]\nendpoints = [\"create\"]\nfail_first = 1\nfault = \"{fault}\"\n"
    )
}

fn captures(app: &TestApp, reference: &str) -> usize {
    app.sim
        .ledger_entries()
        .iter()
        .filter(|e| e.kind == EntryKind::Capture && e.reference.as_deref() == Some(reference))
        .count()
}

async fn stats_fault(app: &TestApp, kind: &str) -> u64 {
    app.get("/_sim/stats").await.json["faults"][kind]
        .as_u64()
        .unwrap_or(0)
}

async fn key_status(app: &TestApp, key: &str) -> StatusCode {
    app.get(&format!("/v1/idempotency-keys/{key}")).await.status
}

const PATIENT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_truncated_body_is_a_200_cut_mid_json_and_charged_only_after_commit() {
    for (fault, charged) in [
        ("truncated_body", false),
        ("truncated_body_after_commit", true),
    ] {
        let app = spawn_app_with_behaviour(&first_create(fault)).await;
        let cut = exchange(&app, &create_request(&app, "o", "k"), PATIENT).await;
        assert_eq!(cut.status(), Some(200), "{fault}: the status says success");
        let promised: usize = cut
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{fault}: a Content-Length"));
        let body = cut.body();
        assert!(
            !body.is_empty() && body.len() < promised,
            "{fault}: {} of {promised} bytes",
            body.len()
        );
        assert!(body.starts_with(b"{"), "{fault}: JSON that starts...");
        assert!(
            serde_json::from_slice::<serde_json::Value>(body).is_err(),
            "{fault}: ...and does not end"
        );
        // An HTTP library sees a success status, then a body it cannot read.
        let via_library = app
            .client
            .post(app.url("/v1/payments"))
            .bearer_auth(&app.api_key)
            .header("Idempotency-Key", "k2")
            .json(&serde_json::json!({"amount": 1000, "currency": "usd",
                "payment_method": "pm_card_visa", "reference": "o2"}))
            .send()
            .await
            .expect("the head arrives");
        assert_eq!(via_library.status(), StatusCode::OK);
        let error = via_library.bytes().await.expect_err("an unreadable body");
        // What loadgen's transport counts as a connection failure: no whole answer arrived.
        assert!(error.is_body() || error.is_decode(), "{fault}: {error:?}");

        let (expected, stored) = if charged {
            (1, StatusCode::OK)
        } else {
            (0, StatusCode::NOT_FOUND)
        };
        assert_eq!(captures(&app, "o"), expected, "{fault}: charged?");
        assert_eq!(key_status(&app, "k").await, stored, "{fault}: stored?");
        assert_eq!(stats_fault(&app, fault).await, 2, "{fault} is counted");

        // A same-key retry settles it: one charge either way.
        let retry = exchange(&app, &create_request(&app, "o", "k"), PATIENT).await;
        assert_eq!(retry.status(), Some(200));
        assert!(serde_json::from_slice::<serde_json::Value>(retry.body()).is_ok());
        assert_eq!(
            retry.header("idempotent-replayed").is_some(),
            charged,
            "{fault}: replayed only when it had run"
        );
        assert_eq!(captures(&app, "o"), 1, "{fault}: one charge");
    }
}

#[tokio::test]
async fn a_slow_body_takes_its_duration_arrives_whole_and_holds_up_no_one_else() {
    let app = spawn_app_with_behaviour(
        "[gateway.endpoints.create]\nfaults = { slow_body = 1.0, slow_body_duration = \"1200ms\" }\n",
    )
    .await;
    let slow = async {
        let started = Instant::now();
        let response = app
            .client
            .post(app.url("/v1/payments"))
            .bearer_auth(&app.api_key)
            .header("Idempotency-Key", "slow-1")
            .json(&serde_json::json!({"amount": 1000, "currency": "usd",
                "payment_method": "pm_card_visa", "reference": "slow"}))
            .send()
            .await
            .expect("the head arrives");
        let head_after = started.elapsed();
        let a = answer(response).await;
        (head_after, started.elapsed(), a)
    };
    let others = async {
        // While the body dribbles, other requests on other connections are answered at once.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut slowest = Duration::ZERO;
        for _ in 0..5 {
            let started = Instant::now();
            let a = app.get("/v1/idempotency-keys/unknown").await;
            assert_eq!(a.status, StatusCode::NOT_FOUND);
            slowest = slowest.max(started.elapsed());
        }
        slowest
    };
    let ((head_after, total, a), slowest_other) = tokio::join!(slow, others);
    assert!(
        head_after < Duration::from_millis(500),
        "headers at once: {head_after:?}"
    );
    assert!(
        total >= Duration::from_millis(1200),
        "the whole duration: {total:?}"
    );
    assert!(total < Duration::from_secs(4), "not much more: {total:?}");
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.json["status"], "succeeded",
        "the whole answer: {}",
        a.json
    );
    assert!(
        slowest_other < Duration::from_millis(300),
        "another request waited {slowest_other:?}"
    );
    assert_eq!(captures(&app, "slow"), 1);
    assert_eq!(stats_fault(&app, "slow_body").await, 1);
}

#[tokio::test]
async fn a_client_with_a_short_timeout_gives_up_on_a_slow_body_that_was_charged() {
    let app = spawn_app_with_behaviour(&first_create("slow_body")).await; // default 2s
    let gave_up = app
        .client
        .post(app.url("/v1/payments"))
        .bearer_auth(&app.api_key)
        .header("Idempotency-Key", "k")
        .timeout(Duration::from_millis(500))
        .json(&serde_json::json!({"amount": 1000, "currency": "usd",
            "payment_method": "pm_card_visa", "reference": "o"}))
        .send()
        .await;
    let failed = match gave_up {
        Ok(response) => response.bytes().await.is_err(),
        Err(e) => e.is_timeout(),
    };
    assert!(failed, "the total timeout strikes while the body dribbles");
    assert_eq!(captures(&app, "o"), 1, "yet the charge went through");
}

#[tokio::test]
async fn an_html_502_comes_from_the_load_balancer_and_is_charged_only_after_commit() {
    for (fault, charged) in [("html_502", false), ("html_502_after_commit", true)] {
        let app = spawn_app_with_behaviour(&first_create(fault)).await;
        let a = answer(
            app.client
                .post(app.url("/v1/payments"))
                .bearer_auth(&app.api_key)
                .header("Idempotency-Key", "k")
                .json(&serde_json::json!({"amount": 1000, "currency": "usd",
                    "payment_method": "pm_card_visa", "reference": "o"}))
                .send()
                .await
                .expect("answered"),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_GATEWAY, "{fault}");
        assert_eq!(a.headers["content-type"], "text/html", "{fault}");
        let page = String::from_utf8_lossy(&a.raw);
        assert!(
            page.contains("<title>502 Bad Gateway</title>"),
            "{fault}: {page}"
        );
        assert!(a.json.is_null(), "{fault}: not JSON");
        assert!(
            a.headers.get("stripe-should-retry").is_none(),
            "{fault}: the load balancer sends no gateway advice"
        );
        assert_eq!(
            captures(&app, "o"),
            usize::from(charged),
            "{fault}: charged?"
        );
        assert_eq!(stats_fault(&app, fault).await, 1, "{fault} is counted");
    }
}

#[tokio::test]
async fn an_empty_reply_closes_without_a_byte_and_is_charged_only_after_commit() {
    for (fault, charged) in [("empty_reply", false), ("empty_reply_after_commit", true)] {
        let app = spawn_app_with_behaviour(&first_create(fault)).await;
        let raw = exchange(&app, &create_request(&app, "o", "k"), PATIENT).await;
        assert!(raw.bytes.is_empty(), "{fault}: {} bytes", raw.bytes.len());

        let via_library = app
            .client
            .post(app.url("/v1/payments"))
            .bearer_auth(&app.api_key)
            .header("Idempotency-Key", "k2")
            .json(&serde_json::json!({"amount": 1000, "currency": "usd",
                "payment_method": "pm_card_visa", "reference": "o2"}))
            .send()
            .await;
        let error = via_library.expect_err("no answer");
        assert!(!error.is_timeout(), "{fault}: closed, not timed out");
        assert!(
            error.is_request() || error.is_connect(),
            "{fault}: {error:?}"
        );
        let chain = format!("{:?}", error);
        assert!(
            chain.contains("IncompleteMessage") || chain.contains("closed"),
            "{fault}: a connection-closed error: {chain}"
        );
        assert_eq!(
            captures(&app, "o"),
            usize::from(charged),
            "{fault}: charged?"
        );
        let stored = if charged {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(key_status(&app, "k").await, stored, "{fault}: stored?");
        assert_eq!(stats_fault(&app, fault).await, 2, "{fault} is counted");
    }
}

/// What a client saw of each order, independent of ids and timing.
async fn wire_outcomes(order: &[usize]) -> Vec<(usize, String)> {
    let app = spawn_app_with_behaviour(
        r#"
[gateway]
seed = 4242
[gateway.faults]
truncated_body = 0.08
truncated_body_after_commit = 0.08
slow_body = 0.08
slow_body_duration = "30ms"
html_502 = 0.08
html_502_after_commit = 0.08
empty_reply = 0.08
empty_reply_after_commit = 0.08
"#,
    )
    .await;
    let sends = order.iter().map(|&i| {
        let app = &app;
        async move {
            let request = create_request(app, &format!("order-{i}"), &format!("key-{i}"));
            let raw = exchange(app, &request, PATIENT).await;
            let body_whole = serde_json::from_slice::<serde_json::Value>(raw.body()).is_ok();
            let seen = match (raw.status(), body_whole) {
                (None, _) => "closed".to_string(),
                (Some(status), true) => format!("{status}"),
                (Some(status), false) => format!("{status} unreadable"),
            };
            (i, seen)
        }
    });
    let mut seen: Vec<(usize, String)> = futures::StreamExt::collect(
        futures::StreamExt::buffer_unordered(futures::stream::iter(sends), 16),
    )
    .await;
    seen.sort();
    let captured: std::collections::BTreeSet<String> = app
        .sim
        .ledger_entries()
        .into_iter()
        .filter(|e| e.kind == EntryKind::Capture)
        .filter_map(|e| e.reference)
        .collect();
    for (i, outcome) in seen.iter_mut() {
        if captured.contains(&format!("order-{i}")) {
            outcome.push_str(" charged");
        }
    }
    seen
}

#[tokio::test]
async fn the_same_seed_gives_the_same_wire_faults_in_any_order() {
    let forward: Vec<usize> = (0..200).collect();
    let backward: Vec<usize> = forward.iter().rev().copied().collect();
    let first = wire_outcomes(&forward).await;
    let second = wire_outcomes(&backward).await;
    assert_eq!(first, second);
    let kinds: std::collections::BTreeSet<&str> = first.iter().map(|(_, s)| s.as_str()).collect();
    for expected in [
        "200 charged",
        "200 unreadable",
        "200 unreadable charged",
        "502 unreadable",
        "502 unreadable charged",
        "closed",
        "closed charged",
    ] {
        assert!(
            kinds.contains(expected),
            "{expected} missing from {kinds:?}"
        );
    }
}
