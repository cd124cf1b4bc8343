//! `loadgen capacity` finds a known knee: gateway-sim in process, limited to
//! 400 requests/s for its one merchant (`governor`, burst 60), purchase-only
//! orders (one order = one request), SLO `max_error_rate = 0.01`, steps of
//! 150, 225, 300, 375, 450, ... orders/s held 2 s each.
//!
//! The true limit is 400/s. 375/s stays under it with room for 150 ms of
//! client bunching (the burst), so it holds; 450/s can only get
//! 400/s x 2 s + 60 = 860 of its 900 requests through, 4.4% errors, so it
//! breaks whatever the timing. The knee found must be within 10% of 400/s, and
//! the whole climb's money must reconcile against the one ledger.
//!
//! It takes the load turn alone, so no other test competes for the two cores
//! while it measures.

use std::collections::BTreeSet;

use crate::common::{
    assert_no_money_lost_or_doubled, captures_by_reference, climb_in_process, default_plan,
    read_ledger_ndjson, scratch_dir,
};
use loadgen::Scenario;
use loadgen::capacity::{StepVerdict, StopReason};
use loadgen::cli::Verdict;
use loadgen::outcomes::ClientResult;

const TRUE_LIMIT: f64 = 400.0;

const SCENARIO: &str = r#"
[gateway]
seed = 42
[gateway.rate_limit]
requests_per_second = 400
burst = 60

[load]
users = 16
seed = 5
merchants = 1
timeout = "2s"
settle = "100ms"
[load.mix]
purchase = 1

[checks]
max_error_rate = 0.01

[capacity]
start = 150
step = 75
step_duration = "2s"
max_rate = 600
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_knee_found_is_within_ten_percent_of_the_gateways_rate_limit() {
    let _turn = crate::common::load_turn_alone().await;
    loadgen::cli::init_logging();
    let scenario =
        Scenario::parse(SCENARIO, "capacity-knee", "capacity-knee.toml").expect("valid scenario");
    let plan = default_plan(&scenario);
    assert_eq!(
        plan.rates(),
        vec![150.0, 225.0, 300.0, 375.0, 450.0, 525.0, 600.0]
    );
    let dir = scratch_dir("capacity-knee");
    let run = climb_in_process(scenario, plan, &dir).await;
    let report = &run.report;
    let table: Vec<String> = report
        .steps
        .iter()
        .map(|s| {
            format!(
                "{}/s: {} errors of {} ({:.2}%), {}",
                s.offered_rate,
                s.errors,
                s.requests,
                s.error_rate * 100.0,
                s.verdict.as_str()
            )
        })
        .collect();

    // The knee: the highest rate that held, within 10% of the true limit.
    let knee = report.knee.as_ref().expect("some rate held");
    assert!(
        (knee.rate - TRUE_LIMIT).abs() <= 0.10 * TRUE_LIMIT,
        "knee {}/s is not within 10% of {TRUE_LIMIT}/s: {table:#?}",
        knee.rate
    );
    // It broke at the next step, on the error rate (the 429s), and stopped there.
    let broke = report.broke_at.as_ref().expect("the SLO broke");
    assert!(broke.rate > TRUE_LIMIT, "{table:#?}");
    assert_eq!(broke.step, knee.step + 1);
    assert!(
        broke.failed_checks.contains(&"error_rate".to_string()),
        "{table:#?}"
    );
    assert_eq!(report.stopped, StopReason::SloBroke);
    assert_eq!(
        report.steps.len() as u32,
        broke.step,
        "no step after the break"
    );
    assert!(
        report.steps[..report.steps.len() - 1]
            .iter()
            .all(|s| s.verdict == StepVerdict::Held && s.error_rate <= 0.01),
        "{table:#?}"
    );

    // Money over the whole climb: every order of every step, one ledger, clean.
    assert!(report.money.checked);
    assert_no_money_lost_or_doubled(&report.money);
    assert!(report.passed);
    assert_eq!(Verdict::from_passed(report.passed).exit_code(), 0);
    let played: u64 = report.steps.iter().map(|s| s.orders).sum();
    assert_eq!(report.orders, played);
    let outcomes = loadgen::outcomes::read_ndjson(&run.files.outcomes).expect("outcomes.ndjson");
    assert_eq!(outcomes.len() as u64, played);
    let ids: BTreeSet<&str> = outcomes.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(
        ids.len(),
        outcomes.len(),
        "order ids are unique across steps"
    );

    // An independent count from the saved ledger: one capture per order told
    // success, and the ledger holds every step's orders, not just the last.
    let ledger_path = run.files.ledger.as_ref().expect("embedded ledger saved");
    let ledger = read_ledger_ndjson(ledger_path);
    let captures = captures_by_reference(&ledger);
    let succeeded: BTreeSet<&str> = outcomes
        .iter()
        .filter(|o| o.result == ClientResult::Succeeded)
        .map(|o| o.order_id.as_str())
        .collect();
    assert!(captures.values().all(|n| *n == 1));
    assert_eq!(
        captures.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        succeeded
    );
    for step in 1..=report.steps.len() {
        let tag = format!("-c{step}-");
        assert!(
            captures.keys().any(|r| r.contains(&tag)),
            "no capture of step {step} in the ledger"
        );
    }

    // The reports: capacity.json reads back as the report, the plot marks the knee.
    let json = loadgen::capacity::report::read_json(&run.files.json).expect("capacity.json");
    // (Floats may differ in their last digit: serde_json's default float parsing.)
    assert_eq!(json.knee, report.knee);
    assert_eq!(json.broke_at, report.broke_at);
    assert_eq!(json.orders, report.orders);
    assert_eq!(json.money.counts, report.money.counts);
    assert_eq!(
        json.steps
            .iter()
            .map(|s| (s.offered_rate, s.requests, s.errors, s.verdict))
            .collect::<Vec<_>>(),
        report
            .steps
            .iter()
            .map(|s| (s.offered_rate, s.requests, s.errors, s.verdict))
            .collect::<Vec<_>>()
    );
    let svg = std::fs::read_to_string(&run.files.svg).expect("capacity.svg");
    assert!(
        svg.contains(&format!("knee {}/s", knee.rate)),
        "knee marked"
    );
    let html = std::fs::read_to_string(&run.files.html).expect("capacity.html");
    assert!(html.contains("<svg") && html.contains(&format!("<td>{}</td>", broke.rate)));
    let _ = std::fs::remove_dir_all(&dir);
}
