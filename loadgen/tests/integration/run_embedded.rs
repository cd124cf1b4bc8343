//! End-to-end runs against an in-process gateway-sim (the default `loadgen run`):
//! a clean mixed run passes with every report written, and a breached threshold
//! fails the run (exit code 1) while the money checks still pass.

use crate::common::{assert_no_money_lost_or_doubled, scratch_dir};
use loadgen::Scenario;
use loadgen::cli::Verdict;
use loadgen::run::{RunOptions, SystemUnderTest, execute};

fn options(text: &str, name: &str) -> RunOptions {
    RunOptions {
        scenario: Scenario::parse(text, name, &format!("{name}.toml")).expect("valid scenario"),
        system: SystemUnderTest::Embedded,
        report_dir: Some(scratch_dir(name)),
        admin_token: None,
        quiet: true,
    }
}

const MIXED: &str = r#"
[gateway]
seed = 42

[load]
rate = 200
duration = "2s"
users = 16
seed = 7
merchants = 2
timeout = "2s"
settle = "100ms"
[load.mix]
purchase = 60
auth_capture = 15
auth_cancel = 5
purchase_refund = 10
double_submit = 5
retry_same_key = 5

[checks]
max_double_charges = 0
max_lost_charges = 0
max_orphan_charges = 0
max_amount_mismatches = 0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_mixed_run_passes_and_writes_every_report() {
    let _turn = crate::common::load_turn_shared().await;
    let finished = execute(options(MIXED, "clean-mixed"))
        .await
        .expect("the run completes");
    let report = &finished.report;

    assert!(report.passed, "checks: {:?}", report.checks);
    assert_eq!(Verdict::from_passed(report.passed).exit_code(), 0);
    assert!(report.money.checked, "the ledger was read");
    assert_eq!(
        report.money.violations_total, 0,
        "{:?}",
        report.money.violations
    );
    assert_no_money_lost_or_doubled(&report.money);
    assert!(report.orders.total > 0);
    // Several flows ran, and every order played is in outcomes.ndjson.
    assert!(
        report.orders.by_flow.len() >= 4,
        "{:?}",
        report.orders.by_flow
    );
    let outcomes = finished.files.outcomes.as_ref().expect("outcomes written");
    let lines = std::fs::read_to_string(outcomes).expect("outcomes readable");
    assert_eq!(lines.lines().count() as u64, report.orders.total);
    // Every order says when in the run its first request went out (what the violations'
    // first and last times are read from): within the 2 s schedule, give or take a late start.
    let played = loadgen::outcomes::read_ndjson(outcomes).expect("outcomes parse");
    assert!(
        played
            .iter()
            .all(|o| o.first_sent_ms.is_some_and(|ms| ms < 3_000)),
        "{:?}",
        played.iter().map(|o| o.first_sent_ms).collect::<Vec<_>>()
    );
    assert!(report.money.ledger_entries >= report.orders.total);

    for file in [
        "ledger.ndjson",
        "report.json",
        "report.html",
        "junit.xml",
        "latency.hlog",
        "outcomes.ndjson",
        "goose-report.html",
    ] {
        let path = finished.report_dir.join(file);
        let size = std::fs::metadata(&path)
            .map(|m| m.len())
            .unwrap_or_else(|e| panic!("{} missing: {e}", path.display()));
        assert!(size > 0, "{} is empty", path.display());
    }
    // The embedded gateway's ledger is saved, and re-checks clean offline.
    let (offline, _) = loadgen::check_offline(
        &finished
            .report_dir
            .join("ledger.ndjson")
            .display()
            .to_string(),
        outcomes,
        &Default::default(),
    )
    .await
    .expect("offline check");
    assert_eq!(offline.counts, report.money.counts);
    assert_eq!(offline.ledger_entries, report.money.ledger_entries);
    let json = loadgen::report::read_json(&finished.files.json).expect("report.json reads back");
    assert!(json.passed);
    assert_eq!(json.orders.total, report.orders.total);
    let _ = std::fs::remove_dir_all(&finished.report_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breached_latency_threshold_fails_the_run() {
    let _turn = crate::common::load_turn_shared().await;
    let text = r#"
[load]
rate = 100
duration = "1s"
users = 8
seed = 3
settle = "100ms"

[checks]
p95_ms = 0.001
"#;
    let finished = execute(options(text, "impossible-p95"))
        .await
        .expect("the run completes");
    let report = &finished.report;

    assert!(!report.passed);
    assert_eq!(Verdict::from_passed(report.passed).exit_code(), 1);
    let p95 = report
        .checks
        .iter()
        .find(|c| c.name == "p95_ms")
        .expect("a p95 check");
    assert!(!p95.passed, "{p95:?}");
    // Only latency failed: the money was right.
    assert!(
        report
            .checks
            .iter()
            .filter(|c| c.name != "p95_ms")
            .all(|c| c.passed),
        "{:?}",
        report.checks
    );
    let junit = std::fs::read_to_string(&finished.files.junit).expect("junit.xml");
    assert!(junit.contains("p95_ms"));
    let _ = std::fs::remove_dir_all(&finished.report_dir);
}
