//! Past one machine, end to end: two `loadgen run --worker` processes (1/2 and 2/2) drive one
//! in-process gateway-sim, `loadgen merge` makes one report of them, and that report agrees
//! with ONE run over the same orders (same seed, same total rate, a fresh gateway-sim with the
//! same behaviour): the same orders, flows and results, the same request counts per step, and
//! the same money check.
//!
//! Latencies of two separately timed runs are never equal sample for sample, so "the same
//! percentiles" is asserted where it is exact: the merged percentiles are those of ONE
//! histogram holding every request both workers sent (rebuilt here from the latencies each
//! client wrote down per attempt in `outcomes.ndjson`), to histogram precision; the single
//! run's percentiles pass the same test, and both sets are printed side by side.
//!
//! The gateway misbehaves deterministically so the money check has something to find: the
//! first attempt of every create is committed and then its connection reset. Purchases are
//! left unresolved, `retry_same_key` recovers through its replayed key, and every
//! `retry_new_key` order is charged three times, in both runs alike.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use crate::common::{loadgen_command, scratch_dir, start_sim};
use hdrhistogram::Histogram;
use loadgen::outcomes::OrderOutcome;
use loadgen::report::{RunReport, read_json};
use loadgen::{Percentiles, StepLatency};

const SCENARIO: &str = r#"
[gateway]
seed = 42
latency = { distribution = "constant", value = "2ms" }

[[gateway.sequences]]
endpoints = ["create"]
fail_first = 1
fault = "reset_after_commit"

[load]
rate = 100
duration = "2s"
users = 8
seed = 11
merchants = 4
timeout = "2s"
settle = "200ms"

[load.mix]
purchase = 2
retry_same_key = 2
retry_new_key = 1
"#;

/// Runs the loadgen binary off the runtime, so the in-process gateway keeps serving.
async fn loadgen(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        loadgen_command()
            .args(&args)
            .output()
            .expect("loadgen runs")
    })
    .await
    .expect("joined")
}

fn run_args(scenario: &Path, target: &str, report_dir: &Path, worker: Option<&str>) -> Vec<String> {
    let mut args = vec![
        "run".to_string(),
        "--quiet".into(),
        "--scenario".into(),
        scenario.display().to_string(),
        "--target".into(),
        target.to_string(),
        "--report-dir".into(),
        report_dir.display().to_string(),
    ];
    if let Some(w) = worker {
        args.extend(["--worker".to_string(), w.to_string()]);
    }
    args
}

fn outcomes(dir: &Path) -> Vec<OrderOutcome> {
    loadgen::outcomes::read_ndjson(&dir.join("outcomes.ndjson")).expect("outcomes")
}

/// The run-wide order number: the last part of every order id.
fn order_number(id: &str) -> u64 {
    id.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("order id {id} ends in its number"))
}

/// Everything about an order that does not depend on timing or on the run's id tag.
fn order_set(outcomes: &[OrderOutcome]) -> Vec<(u64, String, String, i64, &'static str)> {
    let mut set: Vec<_> = outcomes
        .iter()
        .map(|o| {
            (
                order_number(&o.order_id),
                o.flow.clone(),
                o.merchant.clone(),
                o.amount,
                o.result.as_str(),
            )
        })
        .collect();
    set.sort();
    set
}

/// Per step and overall, the latency of every attempt the clients wrote down, as ONE
/// histogram each (corrected, microseconds, 3 significant figures like loadgen's).
fn one_histogram_per_step(outcomes: &[OrderOutcome]) -> (Percentiles, BTreeMap<String, u64>) {
    let new = || Histogram::<u64>::new(3).expect("valid precision");
    let mut all = new();
    let mut counts = BTreeMap::new();
    for attempt in outcomes.iter().flat_map(|o| &o.attempts) {
        all.record(attempt.latency_us).expect("records");
        *counts.entry(attempt.step.clone()).or_insert(0) += 1;
    }
    (Percentiles::from_histogram(&all), counts)
}

fn step_counts(report: &RunReport) -> BTreeMap<String, u64> {
    report
        .latency
        .steps
        .iter()
        .map(|(step, l): (&String, &StepLatency)| (step.clone(), l.count))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_merged_workers_match_one_run_over_the_same_orders() {
    let _turn = crate::common::load_turn_shared().await;
    let dir = scratch_dir("merge-workers");
    let scenario = dir.join("sharded.toml");
    std::fs::write(&scenario, SCENARIO).expect("write scenario");

    // Two workers, at the same time, against one gateway.
    let shared = start_sim(SCENARIO, 42).await;
    let (w1, w2) = (dir.join("worker-1"), dir.join("worker-2"));
    let (out1, out2) = tokio::join!(
        loadgen(run_args(&scenario, &shared.url(), &w1, Some("1/2"))),
        loadgen(run_args(&scenario, &shared.url(), &w2, Some("2/2"))),
    );
    for out in [&out1, &out2] {
        // Each worker's own check finds its share of the double charges: exit 1, not 2.
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let merged_dir = dir.join("merged");
    let out = loadgen(vec![
        "merge".into(),
        w1.display().to_string(),
        w2.display().to_string(),
        "--scenario".into(),
        scenario.display().to_string(),
        "--report-dir".into(),
        merged_dir.display().to_string(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the double charges fail the merged run\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("FAIL  double_charges"), "{stdout}");
    shared.shutdown().await;

    // One run over the same orders, against a fresh gateway that behaves the same.
    let fresh = start_sim(SCENARIO, 42).await;
    let single_dir = dir.join("single");
    let out = loadgen(run_args(&scenario, &fresh.url(), &single_dir, None)).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    fresh.shutdown().await;

    let merged = read_json(&merged_dir.join("report.json")).expect("merged report");
    let single = read_json(&single_dir.join("report.json")).expect("single report");
    let (merged_outcomes, single_outcomes) = (outcomes(&merged_dir), outcomes(&single_dir));
    let (worker1, worker2) = (outcomes(&w1), outcomes(&w2));

    // The workers split the orders: disjoint shares, ids naming the worker.
    assert!(!worker1.is_empty() && !worker2.is_empty());
    assert!(
        worker1
            .iter()
            .all(|o| order_number(&o.order_id).is_multiple_of(2) && o.order_id.contains("-w1of2-"))
    );
    assert!(
        worker2
            .iter()
            .all(|o| order_number(&o.order_id) % 2 == 1 && o.order_id.contains("-w2of2-"))
    );

    // The same orders, flows, merchants, amounts and client results.
    assert_eq!(single.orders.total, 200);
    assert_eq!(order_set(&merged_outcomes), order_set(&single_outcomes));
    assert_eq!(merged.orders, single.orders);
    assert!(
        single.orders.by_flow.len() == 3,
        "{:?}",
        single.orders.by_flow
    );

    // The same requests, step by step; rates summed.
    assert_eq!(merged.requests, single.requests);
    assert_eq!(step_counts(&merged), step_counts(&single));
    assert!((merged.meta.target_rate - single.meta.target_rate).abs() < 1e-9);
    let ratio = merged.meta.achieved_rate / single.meta.achieved_rate;
    println!(
        "achieved: merged {:.1}/s, single {:.1}/s",
        merged.meta.achieved_rate, single.meta.achieved_rate
    );
    assert!(
        ratio > 0.5 && ratio < 2.0,
        "summed rates, not one worker's: {ratio}"
    );

    // The same money check: every retry_new_key order charged three times, every purchase
    // left unresolved, nothing else.
    assert_eq!(merged.money.counts, single.money.counts);
    let new_key_orders = single
        .orders
        .by_flow
        .get("retry_new_key")
        .copied()
        .unwrap_or(0);
    assert!(new_key_orders > 0);
    assert_eq!(merged.money.counts.double_charges, new_key_orders);
    let violated = |r: &RunReport| {
        let mut v: Vec<(u64, String)> = r
            .money
            .violations
            .iter()
            .map(|v| (order_number(&v.order_id), v.kind.as_str().to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(violated(&merged), violated(&single));
    assert_eq!(merged.passed, single.passed);

    // The same percentiles as one histogram over the same requests, exactly.
    let (every_request, counts) = one_histogram_per_step(&merged_outcomes);
    assert_same_percentiles(&merged.latency.overall.corrected, &every_request);
    assert_eq!(counts, step_counts(&merged));
    let (single_every, _) = one_histogram_per_step(&single_outcomes);
    assert_same_percentiles(&single.latency.overall.corrected, &single_every);
    let m = &merged.latency.overall.corrected;
    let s = &single.latency.overall.corrected;
    println!(
        "p50/p95/p99 ms: merged {:.2}/{:.2}/{:.2}, single run {:.2}/{:.2}/{:.2}",
        m.p50_ms, m.p95_ms, m.p99_ms, s.p50_ms, s.p95_ms, s.p99_ms
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Percentiles read from a histogram are exact; the mean is a float sum whose
/// last bit depends on the order the histograms were added in.
fn assert_same_percentiles(got: &Percentiles, want: &Percentiles) {
    let exact = |p: &Percentiles| [p.p50_ms, p.p90_ms, p.p95_ms, p.p99_ms, p.p999_ms, p.max_ms];
    assert_eq!(exact(got), exact(want));
    assert!(
        (got.mean_ms - want.mean_ms).abs() <= 1e-9 * want.mean_ms.abs().max(1.0),
        "mean {} vs {}",
        got.mean_ms,
        want.mean_ms
    );
}
