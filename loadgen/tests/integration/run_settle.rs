//! `loadgen run` with a `[settle]` table: the gateway's clock moves a simulated day at a time
//! during the load (payouts run while orders arrive), then the run does what `loadgen settle`
//! does, and its verdict is among the run's checks, in report.json and in the exit code.

use crate::common;
use crate::common::scratch_dir;
use loadgen::Scenario;
use loadgen::cli::Verdict;
use loadgen::run::{RunOptions, SystemUnderTest, execute};
use loadgen::settle::KINDS;

fn options(text: &str, name: &str, system: SystemUnderTest) -> RunOptions {
    RunOptions {
        scenario: Scenario::parse(text, name, &format!("{name}.toml")).expect("valid scenario"),
        system,
        report_dir: Some(scratch_dir(name)),
        admin_token: None,
        quiet: true,
    }
}

/// A month in four seconds: a simulated day every 150 ms, and every mistake on purpose.
const MONTH: &str = r#"
[gateway]
seed = 5

[gateway.settlement]
payout_hour = 6
payout_failure_rate = 0.1
[gateway.settlement.discrepancies]
missing_row = 0.03
duplicate_row = 0.03
fee_off = 0.03
late = 0.03
unknown_row = 0.03

[load]
rate = 150
duration = "4s"
users = 16
seed = 3
timeout = "2s"
settle = "200ms"
[load.mix]
purchase = 70
purchase_refund = 30

[settle]
day_every = "150ms"

[checks]
max_double_charges = 0
max_lost_charges = 0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_plays_a_month_of_settlement_and_checks_it() {
    let _turn = crate::common::load_turn_shared().await;
    let finished = execute(options(MONTH, "settle-month", SystemUnderTest::Embedded))
        .await
        .expect("the run completes");
    let report = &finished.report;

    assert!(report.passed, "checks: {:#?}", report.checks);
    let settlement = report.settlement.as_ref().expect("the step ran");
    assert!(settlement.passed, "{settlement:?}");
    assert!(
        settlement.days_during_load >= 10,
        "the clock moved during the load: {settlement:?}"
    );
    assert!(settlement.payouts_paid > 5, "{settlement:?}");
    assert_eq!(settlement.banked, settlement.banked_rows_net);
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"settlement_payouts"), "{names:?}");
    for kind in KINDS {
        assert!(names.contains(&format!("settlement_{kind}").as_str()));
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&finished.files.json).expect("report.json"))
            .expect("JSON");
    assert_eq!(json["settlement"]["passed"], true, "{}", json["settlement"]);
}

/// Terms the gateway does not have: the check holds the report to another fee schedule, so
/// every charge row looks like a fee mistake the answer key does not list.
const WRONG_TERMS: &str = r#"
[gateway.settlement]
fees.default = { percent_bps = 100, fixed = 0 }

[load]
rate = 50
duration = "1s"
users = 4
seed = 3
timeout = "2s"
settle = "100ms"
[load.mix]
purchase = 100

[settle]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_that_does_not_add_up_fails_the_run() {
    let _turn = crate::common::load_turn_shared().await;
    // The gateway keeps Stripe's standard fees; the scenario claims 1%.
    let sim = common::start_sim("", 1).await;
    let finished = execute(options(
        WRONG_TERMS,
        "settle-wrong-terms",
        SystemUnderTest::Target(sim.url()),
    ))
    .await
    .expect("the run completes");
    let report = &finished.report;

    assert!(!report.passed);
    assert_eq!(Verdict::from_passed(report.passed).exit_code(), 1);
    assert_eq!(report.money.violations_total, 0, "the money itself is fine");
    let fee_off = report
        .checks
        .iter()
        .find(|c| c.name == "settlement_fee_off")
        .expect("the step's checks");
    assert!(!fee_off.passed, "{fee_off:?}");
    assert!(fee_off.observed > 0.0);
    let settlement = report.settlement.as_ref().expect("the step ran");
    assert_eq!(settlement.days_during_load, 0, "no day_every");
    assert!(settlement.days_after_load > 0);
}
