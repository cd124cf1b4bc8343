//! Memory per stored payment, measured in process: each payment goes through
//! the same path as over HTTP (route and validate the request, count the
//! attempt, claim its idempotency key, create the payment, render and store
//! the answer), minus the sockets. Prints RSS growth per payment.
//!
//! `cargo run --release -p gateway-sim --example memory_per_payment` (PAYMENTS=1000000 by default).
//! The HTTP-level figure comes from `scripts/bench-gateway.sh`.

use bytes::Bytes;
use gateway_sim::api::{self, Incoming};
use gateway_sim::behaviour::SeenCounter;
use gateway_sim::engine::Engine;
use gateway_sim::engine::idempotency::Claim;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let payments: u64 = std::env::var("PAYMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let engine = Engine::new(std::time::Duration::from_secs(24 * 3600));
    let seen = SeenCounter::new();
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", "Bearer sk_test_memory".parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    let before = rss_bytes();
    let started = std::time::Instant::now();
    for i in 0..payments {
        headers.insert(
            "idempotency-key",
            format!("bench-{i:09}-x7f3a").parse().unwrap(),
        );
        let body = Bytes::from(format!(
            r#"{{"amount":{},"currency":"usd","payment_method":"pm_card_visa","reference":"order-{i:09}"}}"#,
            1000 + i % 5000
        ));
        let req = Incoming {
            method: &http::Method::POST,
            path: "/v1/payments",
            query: None,
            headers: &headers,
            body: &body,
        };
        let Ok((call, dialect)) = api::route(&engine, &req) else {
            panic!("the request is valid")
        };
        seen.observe(&call.api_key, call.endpoint(), &call.identity);
        let key = call.idempotency_key.clone().unwrap();
        let Claim::Proceed(reservation) =
            engine.claim_idempotency_key(call.merchant, &key, call.fingerprint)
        else {
            panic!("keys are unique")
        };
        let outcome = call.execute(&engine, Some(reservation.key()), None);
        let reply = dialect.render_call(&engine, &call, &outcome);
        reservation.complete((&reply).into());
    }
    let after = rss_bytes();
    let stats = engine.stats();
    assert_eq!(stats.payments, payments);
    println!(
        "{} payments, {} ledger entries, {} idempotency keys in {:.1} s",
        stats.payments,
        stats.ledger_entries,
        stats.idempotency_keys,
        started.elapsed().as_secs_f64()
    );
    println!(
        "RSS grew {:.1} MiB: {} bytes per stored payment (target < 1024)",
        (after - before) as f64 / (1024.0 * 1024.0),
        (after - before) / payments.max(1)
    );
}
