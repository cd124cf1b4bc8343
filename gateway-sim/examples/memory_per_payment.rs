//! Memory per stored payment, measured in process: each payment goes through
//! the same path as over HTTP (`GatewaySim::answer`: route and validate the request, count the
//! attempt, claim its idempotency key, create the payment, render and store the answer), minus
//! the sockets. Prints RSS growth per payment, and the growth of what the allocator has handed
//! out (glibc's `mallinfo2`): a record made smaller shows there at once, while RSS may not
//! move, the freed room staying behind as small holes between the other records.
//!
//! `cargo run --release -p gateway-sim --example memory_per_payment` (PAYMENTS=1000000 by default).
//! The HTTP-level figure comes from `scripts/bench-gateway.sh`.

use bytes::Bytes;
use gateway_sim::{GatewaySim, SimConfig};

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Bytes the allocator has handed out and not taken back: glibc's in-use chunks in every
/// arena plus its mmapped blocks. `None` under another C library.
fn allocated_bytes() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads the allocator's counters; it takes no arguments.
        let info = unsafe { libc::mallinfo2() };
        Some((info.uordblks + info.hblkhd) as u64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let payments: u64 = std::env::var("PAYMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let sim = GatewaySim::start(SimConfig::default())
        .await
        .expect("gateway-sim starts");
    let engine = sim.engine();
    let before = rss_bytes();
    let allocated_before = allocated_bytes();
    let started = std::time::Instant::now();
    for i in 0..payments {
        let body = Bytes::from(format!(
            r#"{{"amount":{},"currency":"usd","payment_method":"pm_card_visa","reference":"order-{i:09}"}}"#,
            1000 + i % 5000
        ));
        let request = http::Request::post("/v1/payments")
            .header("authorization", "Bearer sk_test_memory")
            .header("content-type", "application/json")
            .header("idempotency-key", format!("bench-{i:09}-x7f3a"))
            .body(body)
            .expect("a valid request");
        let answer = sim.answer(request).await.expect("no faults configured");
        assert_eq!(answer.status(), 200, "the request is valid");
    }
    let after = rss_bytes();
    let allocated_after = allocated_bytes();
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
        "RSS grew {:.1} MiB: {} bytes per stored payment (target < 1024; issue 15 asks <= 600)",
        (after - before) as f64 / (1024.0 * 1024.0),
        (after - before) / payments.max(1)
    );
    if let (Some(before), Some(after)) = (allocated_before, allocated_after) {
        println!(
            "allocator's in-use bytes grew {:.1} MiB: {} bytes per stored payment",
            after.saturating_sub(before) as f64 / (1024.0 * 1024.0),
            after.saturating_sub(before) / payments.max(1)
        );
    }
}
