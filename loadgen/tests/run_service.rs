//! `--service` mode end to end. gateway-sim itself stands in for the merchant's
//! service: the `[target]` template sends one native create per order, with the
//! order id as `reference`, and loadgen checks the same gateway's ledger by
//! reference. Declines come from gateway-sim's decline rules and must be read
//! through the template's decline rule.

mod common;

use common::{scratch_dir, start_sim};
use gateway_sim::EntryKind;
use loadgen::Scenario;
use loadgen::cli::Verdict;
use loadgen::run::{RunOptions, SystemUnderTest, execute};

const SERVICE: &str = r#"
[gateway]
seed = 5
[gateway.declines]
rate = 0.2

[load]
rate = 100
duration = "1s"
users = 8
seed = 21
settle = "100ms"

[target]
method = "POST"
path = "/v1/payments"
headers = { "Authorization" = "Bearer sk_test_merchant_service", "Idempotency-Key" = "{{idempotency_key}}" }
body = '{"amount":{{amount}},"currency":"{{currency}}","payment_method":"pm_card_visa","capture":true,"reference":"{{order_id}}"}'
[target.success]
status = [200]
pointer = "/status"
equals = "succeeded"
[target.decline]
status = [402]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_driven_by_its_template_is_checked_by_reference() {
    let sim = start_sim(SERVICE, 5).await;
    let options = RunOptions {
        scenario: Scenario::parse(SERVICE, "service", "service.toml").expect("valid scenario"),
        system: SystemUnderTest::Service {
            service: sim.url(),
            gateway: sim.url(),
        },
        report_dir: Some(scratch_dir("service")),
        admin_token: None,
        quiet: true,
    };
    let finished = execute(options).await.expect("the run completes");
    let ledger = sim.ledger_entries();
    sim.shutdown().await;
    let report = &finished.report;

    assert_eq!(
        report.orders.by_flow.keys().collect::<Vec<_>>(),
        vec!["service"]
    );
    let succeeded = report
        .orders
        .by_result
        .get("succeeded")
        .copied()
        .unwrap_or(0);
    let declined = report
        .orders
        .by_result
        .get("declined")
        .copied()
        .unwrap_or(0);
    assert!(
        succeeded > 0 && declined > 0,
        "{:?}",
        report.orders.by_result
    );
    assert_eq!(succeeded + declined, report.orders.total);
    // Every success is one capture in the ledger, found by reference.
    let captures = ledger
        .iter()
        .filter(|e| e.kind == EntryKind::Capture)
        .count() as u64;
    assert_eq!(captures, succeeded);
    assert!(report.money.checked);
    assert_eq!(
        report.money.violations_total, 0,
        "{:?}",
        report.money.violations
    );
    assert!(report.passed, "{:?}", report.checks);
    assert_eq!(Verdict::from_passed(report.passed).exit_code(), 0);
    let _ = std::fs::remove_dir_all(&finished.report_dir);
}
