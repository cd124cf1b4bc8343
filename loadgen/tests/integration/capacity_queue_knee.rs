//! `loadgen capacity` finds a knee from latency alone: gateway-sim in process
//! with `[gateway.capacity]` of 4 workers and a constant 20 ms service time,
//! so queueing theory puts its capacity at workers / service time = 200
//! requests/s. The scenario is `scenarios/capacity-queue.toml` as a user runs
//! it: purchase-only orders (one order = one request), SLO `p99_ms = 100`
//! and nothing else, steps of 150, 160, 170, ... orders/s held 3 s each.
//!
//! Arrivals are evenly spaced (the open-model schedule), so below capacity a
//! request rarely waits and its latency is the service time; above it the line
//! grows by (rate - 200) requests a second, and at 210/s the last second of a
//! step waits well past 100 ms. The knee found must be within 10% of 200/s and
//! the step that broke must have broken on latency, with no request refused.
//!
//! It takes the load turn alone, so no other test competes for the two cores
//! while it measures.

use std::path::Path;

use crate::common::{climb_in_process, default_plan, scratch_dir};
use loadgen::Scenario;
use loadgen::capacity::StopReason;

/// workers / service time: 4 / 20 ms.
const THEORETICAL_CAPACITY: f64 = 200.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_knee_found_from_latency_is_within_ten_percent_of_workers_over_service_time() {
    let _turn = crate::common::load_turn_alone().await;
    loadgen::cli::init_logging();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/capacity-queue.toml");
    let scenario = Scenario::load(&path).expect("scenarios/capacity-queue.toml reads");
    let gateway = gateway_sim::parse_scenario_gateway(&scenario.text).expect("[gateway] reads");
    let capacity = gateway
        .capacity
        .as_ref()
        .expect("the scenario gives the gateway workers");
    let service = capacity
        .service_time
        .value
        .expect("a constant service time");
    assert_eq!(
        f64::from(capacity.workers) / service.as_secs_f64(),
        THEORETICAL_CAPACITY
    );
    let plan = default_plan(&scenario);
    // Reports go to a scratch directory, not into the source tree.
    let dir = scratch_dir("capacity-queue-knee");
    let run = climb_in_process(scenario, plan, &dir).await;
    let report = &run.report;
    let table: Vec<String> = report
        .steps
        .iter()
        .map(|s| {
            format!(
                "{}/s: p50 {:.1} ms, p99 {:.1} ms, {} errors of {}, {}",
                s.offered_rate,
                s.latency.p50_ms,
                s.latency.p99_ms,
                s.errors,
                s.requests,
                s.verdict.as_str()
            )
        })
        .collect();
    eprintln!("capacity-queue climb: {table:#?}");

    let knee = report.knee.as_ref().expect("some rate held");
    assert!(
        (knee.rate - THEORETICAL_CAPACITY).abs() <= 0.10 * THEORETICAL_CAPACITY,
        "knee {}/s is not within 10% of {THEORETICAL_CAPACITY}/s: {table:#?}",
        knee.rate
    );
    let broke = report.broke_at.as_ref().expect("the SLO broke");
    assert_eq!(report.stopped, StopReason::SloBroke, "{table:#?}");
    assert_eq!(
        broke.failed_checks,
        vec!["p99_ms".to_string()],
        "broke on latency alone: {table:#?}"
    );
    assert!(
        report.steps.iter().all(|s| s.errors == 0),
        "nothing refused, nothing failed: {table:#?}"
    );
    assert!(report.passed, "{table:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}
