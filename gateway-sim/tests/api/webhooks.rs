//! Webhook delivery end to end: a real receiver on a real socket gets signed
//! events, retried, duplicated, delayed, held back, sent early, dropped and
//! held through an outage, as the scenario asks, reproducibly from the seed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with_behaviour};
use crate::receiver::{Receiver, signature_is_valid};

const SECRET: &str = "whsec_test_secret_for_webhooks";

/// A simulator whose `[gateway.webhooks]` table is `webhooks` plus one Stripe
/// endpoint at `receiver`, and whatever else `extra` adds.
async fn app_delivering_to(receiver: &Receiver, webhooks: &str, extra: &str) -> TestApp {
    spawn_app_with_behaviour(&format!(
        "[gateway.webhooks]\n{webhooks}\n[[gateway.webhooks.endpoints]]\nurl = \"{}\"\nsecret = \"{SECRET}\"\n{extra}",
        receiver.url
    ))
    .await
}

/// A receiver that answers 200, and a simulator sending it `payment_intent.succeeded` only.
async fn hearing_succeeded(webhooks: &str) -> (Receiver, TestApp) {
    let receiver = Receiver::ok().await;
    let app = app_delivering_to(
        &receiver,
        webhooks,
        "events = [\"payment_intent.succeeded\"]",
    )
    .await;
    (receiver, app)
}

async fn stats(app: &TestApp) -> Value {
    app.get("/_sim/stats").await.json
}

#[tokio::test]
async fn an_endpoint_hears_a_payments_whole_life_signed() {
    let receiver = Receiver::ok().await;
    let app = app_delivering_to(&receiver, "", "").await;
    let p = app.create_payment(1000, false, "order-life").await;
    let id = p["id"].as_str().unwrap();
    let captured = app
        .post(
            &format!("/v1/payments/{id}/capture"),
            json!({}),
            Some("key-capture"),
        )
        .await;
    assert_eq!(captured.status, StatusCode::OK);
    let refunded = app
        .post(
            &format!("/v1/payments/{id}/refunds"),
            json!({"amount": 400}),
            Some("key-refund"),
        )
        .await;
    assert_eq!(refunded.status, StatusCode::OK);

    let got = receiver
        .wait_until(Duration::from_secs(10), |got| got.len() >= 7)
        .await;
    let mut types: Vec<&str> = got.iter().map(|r| r.event_type()).collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "charge.captured",
            "charge.refunded",
            "charge.succeeded",
            "payment_intent.amount_capturable_updated",
            "payment_intent.created",
            "payment_intent.succeeded",
            "refund.created",
        ]
    );
    let mut ids: Vec<&str> = got.iter().map(|r| r.event_id()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 7, "every event has its own id");
    for r in &got {
        let header = r.headers["stripe-signature"].to_str().unwrap();
        assert!(
            signature_is_valid(header, &r.body, SECRET),
            "{} carries a valid signature: {header}",
            r.event_type()
        );
        assert!(!signature_is_valid(
            header,
            &r.body,
            "whsec_some_other_secret"
        ));
        assert_eq!(r.json["object"], "event");
        assert_eq!(r.json["livemode"], false);
    }
    let capture_event = got
        .iter()
        .find(|r| r.event_type() == "charge.captured")
        .unwrap();
    assert_eq!(
        capture_event.json["request"]["idempotency_key"],
        "key-capture"
    );
    assert_eq!(
        capture_event.json["request"]["id"],
        captured.headers["request-id"].to_str().unwrap(),
        "the event names the request that caused it, as its Request-Id header did"
    );

    let s = stats(&app).await;
    assert_eq!(s["webhooks"]["delivered"], 7);
    assert_eq!(s["webhooks"]["pending"], 0);
}

#[tokio::test]
async fn a_failing_receiver_sees_the_same_event_until_it_answers_2xx() {
    // Fails twice, then 200: three attempts of one event.
    let receiver = Receiver::answering(Arc::new(|n| Some(if n < 2 { 500 } else { 200 }))).await;
    let app = app_delivering_to(
        &receiver,
        "retry = { first_delay = \"100ms\", factor = 2.0, max_attempts = 5 }",
        "events = [\"payment_intent.succeeded\"]",
    )
    .await;
    app.create_payment(500, true, "order-retry").await;
    let got = receiver
        .wait_until(Duration::from_secs(10), |got| got.len() >= 3)
        .await;
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.event_id() == got[0].event_id()));
    // Backoff: the second retry waited longer than the first.
    let first_gap = got[1].at - got[0].at;
    let second_gap = got[2].at - got[1].at;
    assert!(first_gap >= Duration::from_millis(90), "{first_gap:?}");
    assert!(second_gap >= Duration::from_millis(180), "{second_gap:?}");

    let deliveries = app.get("/_sim/webhooks/deliveries").await;
    let lines: Vec<Value> = std::str::from_utf8(&deliveries.raw)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let outcomes: Vec<(&str, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["outcome"].as_str().unwrap(),
                l["attempt"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(outcomes, [("failed", 1), ("failed", 2), ("delivered", 3)]);
}

#[tokio::test]
async fn retries_follow_the_simulator_clock() {
    // The first retry is an hour away; advancing the clock makes it due now.
    let receiver = Receiver::answering(Arc::new(|n| Some(if n == 0 { 503 } else { 200 }))).await;
    let app = app_delivering_to(
        &receiver,
        "retry = { first_delay = \"1h\", factor = 2.0, max_attempts = 3 }",
        "events = [\"payment_intent.succeeded\"]",
    )
    .await;
    app.create_payment(500, true, "order-clock").await;
    receiver
        .wait_until(Duration::from_secs(5), |got| !got.is_empty())
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "the retry waits for simulator time"
    );
    let advanced = app
        .post("/_sim/clock/advance", json!({"seconds": 3601}), None)
        .await;
    assert_eq!(advanced.status, StatusCode::OK);
    let got = receiver
        .wait_until(Duration::from_secs(5), |got| got.len() >= 2)
        .await;
    assert_eq!(got.len(), 2);
}

#[tokio::test]
async fn duplicates_deliver_every_event_twice() {
    let receiver = Receiver::ok().await;
    let app = app_delivering_to(&receiver, "faults = { duplicate = 1.0 }", "").await;
    app.create_payment(700, true, "order-dup").await;
    // payment_intent.created, charge.succeeded, payment_intent.succeeded: each twice.
    let got = receiver
        .wait_until(Duration::from_secs(10), |got| got.len() >= 6)
        .await;
    assert_eq!(got.len(), 6);
    for r in &got {
        let same = got.iter().filter(|o| o.event_id() == r.event_id()).count();
        assert_eq!(same, 2, "{} arrived twice", r.event_type());
    }
    assert_eq!(stats(&app).await["webhooks"]["faults"]["duplicate"], 3);
}

#[tokio::test]
async fn dropped_events_are_found_by_listing_and_recovered_by_a_resend() {
    let receiver = Receiver::ok().await;
    let app = app_delivering_to(&receiver, "faults = { drop = 1.0 }", "").await;
    app.create_payment(900, true, "order-drop").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        receiver.received().is_empty(),
        "a dropped event is never sent on its own"
    );

    let missed = app.get("/v1/events?delivery_success=false").await;
    let stripe_missed = app
        .client
        .get(app.url("/v1/events?delivery_success=false"))
        .basic_auth(&app.api_key, Some(""))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let _ = missed;
    let ids: Vec<&str> = stripe_missed["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        3,
        "the three events nobody heard: {stripe_missed}"
    );

    for id in &ids {
        let resent = app
            .post(&format!("/_sim/webhooks/resend/{id}"), json!({}), None)
            .await;
        assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.json);
        assert_eq!(resent.json["deliveries"], 1);
    }
    let got = receiver
        .wait_until(Duration::from_secs(10), |got| got.len() >= 3)
        .await;
    let mut heard: Vec<&str> = got.iter().map(|r| r.event_id()).collect();
    heard.sort_unstable();
    let mut expected = ids.clone();
    expected.sort_unstable();
    assert_eq!(heard, expected);
    // Delivered now: the listing of missed events is empty.
    let still_missed = app
        .client
        .get(app.url("/v1/events?delivery_success=false"))
        .basic_auth(&app.api_key, Some(""))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        still_missed["data"].as_array().map(Vec::len),
        Some(0),
        "{still_missed}"
    );

    let unknown = app
        .post("/_sim/webhooks/resend/evt_nothing", json!({}), None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_early_webhook_arrives_before_the_answer_that_caused_it() {
    // The answer waits until the early webhook was delivered, so the receiver has it first.
    let (receiver, app) = hearing_succeeded("faults = { early = 1.0 }").await;
    let started = Instant::now();
    app.create_payment(300, true, "order-early").await;
    let answered = Instant::now();
    let got = receiver.received();
    assert_eq!(
        got.len(),
        1,
        "the webhook was in before the answer came back"
    );
    assert!(got[0].at >= started && got[0].at <= answered);
    assert_eq!(stats(&app).await["webhooks"]["faults"]["early"], 1);
}

#[tokio::test]
async fn without_early_the_answer_leaves_first() {
    let (receiver, app) = hearing_succeeded("").await;
    for n in 0..20 {
        app.create_payment(300, true, &format!("order-late-{n}"))
            .await;
    }
    let got = receiver
        .wait_until(Duration::from_secs(10), |got| got.len() >= 20)
        .await;
    assert_eq!(got.len(), 20);
}

#[tokio::test]
async fn delay_and_reorder_hold_events_back() {
    let (receiver, app) =
        hearing_succeeded("faults = { reorder = 1.0, reorder_hold = \"400ms\" }").await;
    let started = Instant::now();
    app.create_payment(300, true, "order-held").await;
    let got = receiver
        .wait_until(Duration::from_secs(5), |got| !got.is_empty())
        .await;
    assert_eq!(got.len(), 1);
    assert!(
        got[0].at - started >= Duration::from_millis(390),
        "held back {:?}",
        got[0].at - started
    );
}

#[tokio::test]
async fn an_outage_window_holds_deliveries_then_flushes_the_backlog() {
    let (receiver, app) =
        hearing_succeeded("outages = [{ from = \"0s\", until = \"1500ms\" }]").await;
    let started = Instant::now();
    for n in 0..5 {
        app.create_payment(300, true, &format!("order-outage-{n}"))
            .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        receiver.received().is_empty(),
        "nothing is delivered during the outage"
    );
    let got = receiver
        .wait_until(Duration::from_secs(10), |got| got.len() >= 5)
        .await;
    assert_eq!(got.len(), 5);
    let first = got.iter().map(|r| r.at).min().unwrap();
    let last = got.iter().map(|r| r.at).max().unwrap();
    assert!(
        first - started >= Duration::from_millis(1000),
        "held until the window ended"
    );
    assert!(
        last - first < Duration::from_millis(1000),
        "then flushed at once"
    );
    assert_eq!(stats(&app).await["webhooks"]["faults"]["outage"], 5);
}

#[tokio::test]
async fn faults_are_reproducible_from_the_seed() {
    // Same seed, same requests, in a different order: the same events are duplicated.
    async fn duplicated(order: &[usize]) -> Vec<String> {
        let receiver = Receiver::ok().await;
        let app = app_delivering_to(
            &receiver,
            "faults = { duplicate = 0.5, duplicate_concurrent = 1.0 }",
            "events = [\"payment_intent.succeeded\"]",
        )
        .await;
        for n in order {
            app.create_payment(300 + *n as i64, true, &format!("order-seed-{n}"))
                .await;
        }
        receiver
            .wait_until(Duration::from_secs(10), |got| got.len() >= order.len())
            .await;
        // Duplicates are concurrent: they are in by the time the originals are, give or take.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let all = receiver.received();
        let mut twice: Vec<String> = Vec::new();
        for r in &all {
            if all.iter().filter(|o| o.event_id() == r.event_id()).count() == 2 {
                // The amount names the order: 300 + its number.
                twice.push(format!(
                    "{}:{}",
                    r.event_type(),
                    r.json["data"]["object"]["amount"]
                ));
            }
        }
        twice.sort();
        twice.dedup();
        twice
    }
    let forward: Vec<usize> = (0..16).collect();
    let backward: Vec<usize> = (0..16).rev().collect();
    let a = duplicated(&forward).await;
    let b = duplicated(&backward).await;
    assert!(
        !a.is_empty() && a.len() < 16,
        "about half are duplicated: {a:?}"
    );
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_receiver_that_never_answers_does_not_slow_the_api() {
    let receiver = Receiver::answering(Arc::new(|_| None)).await;
    let app = app_delivering_to(&receiver, "timeout = \"5s\"\nconcurrency = 4", "").await;
    let started = Instant::now();
    for n in 0..40 {
        app.create_payment(300, true, &format!("order-hang-{n}"))
            .await;
    }
    // 120 deliveries hang for 5 s each behind 4 slots; the API never waited for one.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "40 payments took {:?}",
        started.elapsed()
    );
    let s = stats(&app).await;
    assert_eq!(s["webhooks"]["in_flight"], 4);
    assert!(s["webhooks"]["pending"].as_u64().unwrap() >= 100, "{s}");
}

#[tokio::test]
async fn a_full_queue_refuses_loudly_and_the_event_stays_undelivered() {
    let receiver = Receiver::answering(Arc::new(|_| None)).await;
    let app = app_delivering_to(
        &receiver,
        "max_pending = 2\nconcurrency = 1\ntimeout = \"5s\"",
        "events = [\"payment_intent.succeeded\"]",
    )
    .await;
    for n in 0..6 {
        app.create_payment(300, true, &format!("order-full-{n}"))
            .await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = stats(&app).await;
    // One in flight, two waiting, the rest refused and counted.
    assert_eq!(s["webhooks"]["overflow"], 3, "{s}");
    let deliveries = app.get("/_sim/webhooks/deliveries").await;
    let overflow = std::str::from_utf8(&deliveries.raw)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"outcome\":\"overflow\""))
        .count();
    assert_eq!(overflow, 3);
}

#[tokio::test]
async fn a_configured_endpoint_must_ask_for_events_its_dialect_sends() {
    let app = crate::helpers::spawn_app().await;
    let put = |body: Value| {
        let app = &app;
        async move {
            let r = app
                .client
                .put(app.url("/_sim/config"))
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let endpoint = |events: Value, dialect: &str| json!({"webhooks": {"endpoints": [{"url": "http://127.0.0.1:9/hooks", "events": events, "dialect": dialect}]}});
    let (status, body) = put(endpoint(json!(["payment.succeeded"]), "stripe")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.to_string()
            .contains("gateway.webhooks.endpoints[0].events[0]"),
        "{body}"
    );
    let (status, body) = put(endpoint(json!(["payment.succeeded"]), "native")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = put(endpoint(
        json!(["payment_intent.*", "refund.created"]),
        "stripe",
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = put(endpoint(json!(["ftp://nope"]), "stripe")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let bad_url = json!({"webhooks": {"endpoints": [{"url": "ftp://127.0.0.1/hooks"}]}});
    let (status, body) = put(bad_url).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.to_string()
            .contains("gateway.webhooks.endpoints[0].url"),
        "{body}"
    );
}

/// A receiver that answers every connection with `reply`'s raw bytes, then closes.
async fn raw_receiver(reply: &'static [u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(reply).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    url
}

#[tokio::test]
async fn garbage_redirects_and_refusals_are_failed_attempts_never_crashes() {
    let garbage = raw_receiver(b"THIS IS NOT HTTP\r\n\r\n").await;
    let redirect = raw_receiver(
        b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    // A port nobody listens on: bound, then let go.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hooks", l.local_addr().unwrap())
    };
    let endpoints: String = [&garbage, &redirect, &refused]
        .iter()
        .map(|url| {
            format!(
                "[[gateway.webhooks.endpoints]]\nurl = \"{url}\"\nevents = [\"payment_intent.succeeded\"]\n"
            )
        })
        .collect();
    let app = spawn_app_with_behaviour(&format!(
        "[gateway.webhooks]\nretry = {{ first_delay = \"50ms\", factor = 1.0, max_attempts = 2 }}\n{endpoints}"
    ))
    .await;
    app.create_payment(100, true, "order-bad-receivers").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut s = stats(&app).await;
    while s["webhooks"]["exhausted"] != 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        s = stats(&app).await;
    }
    assert_eq!(s["webhooks"]["exhausted"], 3, "{s}");
    assert_eq!(s["webhooks"]["failed_attempts"], 6, "{s}");
    assert_eq!(s["webhooks"]["delivered"], 0);
    let deliveries = app.get("/_sim/webhooks/deliveries").await;
    let text = std::str::from_utf8(&deliveries.raw).unwrap();
    assert!(
        text.contains("\"status\":302"),
        "a redirect is not followed: {text}"
    );
    assert!(
        text.contains("connect"),
        "a refused connection says so: {text}"
    );
    // The API is unharmed.
    app.create_payment(100, true, "order-after-bad-receivers")
        .await;
}

#[tokio::test]
async fn reordered_events_are_overtaken_by_later_events_of_the_same_payment() {
    let receiver = Receiver::ok().await;
    let app = app_delivering_to(
        &receiver,
        "faults = { reorder = 0.5, reorder_hold = \"300ms\" }",
        "events = [\"payment_intent.amount_capturable_updated\", \"charge.captured\", \"charge.refunded\"]",
    )
    .await;
    for n in 0..12 {
        let p = app
            .create_payment(1000 + n, false, &format!("order-reorder-{n}"))
            .await;
        let id = p["id"].as_str().unwrap();
        let captured = app
            .post(&format!("/v1/payments/{id}/capture"), json!({}), None)
            .await;
        assert_eq!(captured.status, StatusCode::OK);
        let refunded = app
            .post(&format!("/v1/payments/{id}/refunds"), json!({}), None)
            .await;
        assert_eq!(refunded.status, StatusCode::OK);
    }
    let got = receiver
        .wait_until(Duration::from_secs(10), |got| got.len() >= 36)
        .await;
    assert_eq!(got.len(), 36);
    // Per payment (its amount), the order the events arrived in against the order they happened.
    let happened = [
        "payment_intent.amount_capturable_updated",
        "charge.captured",
        "charge.refunded",
    ];
    let mut overtaken = 0;
    for n in 0..12 {
        let arrived: Vec<usize> = got
            .iter()
            .filter(|r| r.json["data"]["object"]["amount"] == 1000 + n)
            .map(|r| happened.iter().position(|t| *t == r.event_type()).unwrap())
            .collect();
        assert_eq!(arrived.len(), 3);
        if arrived.windows(2).any(|w| w[0] > w[1]) {
            overtaken += 1;
        }
    }
    assert!(
        overtaken > 0 && overtaken < 12,
        "some payments' events arrive out of order, not all: {overtaken} of 12"
    );
    assert!(
        stats(&app).await["webhooks"]["faults"]["reorder"]
            .as_u64()
            .unwrap()
            > 0
    );
}

/// The lines of `GET path` (`/_sim/webhooks/deliveries...`) as JSON.
async fn delivery_lines(app: &TestApp, path: &str) -> Vec<Value> {
    let answer = app.get(path).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    std::str::from_utf8(&answer.raw)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect()
}

#[tokio::test]
async fn deliveries_name_their_order_and_payment_and_filter_by_reference() {
    let receiver = Receiver::ok().await;
    let app = app_delivering_to(&receiver, "", "").await;
    let refunded = app.create_payment(1000, true, "order-filter-a").await;
    let refunded_id = refunded["id"].as_str().expect("an id");
    let refund = app
        .post(
            &format!("/v1/payments/{refunded_id}/refunds"),
            json!({"amount": 400}),
            None,
        )
        .await;
    assert_eq!(refund.status, StatusCode::OK, "{}", refund.json);
    let other = app.create_payment(700, true, "order-filter-b").await;
    // Order a: created, charge.succeeded, succeeded, then charge.refunded and refund.created.
    // Order b: created, charge.succeeded, succeeded.
    let deadline = Instant::now() + Duration::from_secs(10);
    while delivery_lines(&app, "/_sim/webhooks/deliveries")
        .await
        .len()
        < 8
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let a = delivery_lines(&app, "/_sim/webhooks/deliveries?reference=order-filter-a").await;
    let mut types: Vec<&str> = a
        .iter()
        .map(|l| l["event_type"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "charge.refunded",
            "charge.succeeded",
            "payment_intent.created",
            "payment_intent.succeeded",
            "refund.created",
        ],
        "exactly order a's deliveries, its refund's included: {a:?}"
    );
    for line in &a {
        assert_eq!(line["reference"], "order-filter-a", "{line}");
        assert_eq!(line["payment_id"], refunded_id, "{line}");
        assert_eq!(line["outcome"], "delivered", "{line}");
    }

    let b = delivery_lines(&app, "/_sim/webhooks/deliveries?reference=order-filter-b").await;
    assert_eq!(b.len(), 3, "{b:?}");
    assert!(
        b.iter()
            .all(|l| l["reference"] == "order-filter-b" && l["payment_id"] == other["id"]),
        "{b:?}"
    );

    // With `?event=`: that event of that order, and nothing of another order.
    let event = a[0]["event_id"].as_str().expect("an event id");
    let one = delivery_lines(
        &app,
        &format!("/_sim/webhooks/deliveries?reference=order-filter-a&event={event}"),
    )
    .await;
    assert_eq!(one.len(), 1, "{one:?}");
    assert_eq!(one[0]["event_id"], event);
    let none = delivery_lines(
        &app,
        &format!("/_sim/webhooks/deliveries?reference=order-filter-b&event={event}"),
    )
    .await;
    assert!(none.is_empty(), "{none:?}");
    let unknown = delivery_lines(
        &app,
        "/_sim/webhooks/deliveries?reference=order-nobody-placed",
    )
    .await;
    assert!(unknown.is_empty(), "{unknown:?}");

    // A filter that cannot be read is refused, never widened to every order's deliveries.
    let malformed = app
        .get("/_sim/webhooks/deliveries?reference=order%zz")
        .await;
    assert_eq!(
        malformed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        malformed.json
    );
    assert_eq!(malformed.json["error"]["param"], "reference");
}

#[tokio::test]
async fn a_dropped_delivery_names_its_order_too() {
    let receiver = Receiver::ok().await;
    let app = app_delivering_to(
        &receiver,
        "faults = { drop = 1.0 }",
        "events = [\"payment_intent.succeeded\"]",
    )
    .await;
    let p = app.create_payment(900, true, "order-filter-dropped").await;
    let lines = delivery_lines(
        &app,
        "/_sim/webhooks/deliveries?reference=order-filter-dropped",
    )
    .await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["outcome"], "dropped");
    assert_eq!(lines[0]["attempt"], 0);
    assert_eq!(lines[0]["payment_id"], p["id"]);
    assert_eq!(lines[0]["faults"], json!(["drop"]));
}
