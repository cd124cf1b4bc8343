//! The gate: gateway-sim playing a scenario, the reference merchant service in
//! front of it, and loadgen driving the service and checking the money.
//! The bug must be caught with its order ids; the fix must pass.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gateway_sim::GatewaySim;
use loadgen::cli::Verdict;
use loadgen::run::{FinishedRun, RunOptions, SystemUnderTest, execute};
use loadgen::{LoadOverrides, Scenario};
use payments_e2e::merchant::{Idempotency, MerchantConfig};

use crate::helpers::{
    LOAD_TURN, assert_every_check_passed, captures_by_order, start_gateway, start_merchant,
};

pub fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(name)
}

pub fn report_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("gate-{name}-{}-{nanos}", std::process::id()))
}

/// Starts the gateway with the scenario's [gateway] table and the merchant service
/// in front of it, runs loadgen against the service, and returns both.
async fn gate(
    scenario: &str,
    idempotency: Idempotency,
    overrides: LoadOverrides,
) -> (FinishedRun, GatewaySim) {
    let _turn = LOAD_TURN.lock().await;
    let path = scenario_path(scenario);
    let behaviour =
        gateway_sim::load_scenario_gateway(&path).expect("the scenario's [gateway] is valid");
    let gateway = start_gateway(behaviour, 42).await;
    let merchant = start_merchant(MerchantConfig {
        gateway_url: gateway.url(),
        idempotency,
        // The production backoff (100 ms, doubling) scaled down so the test stays short.
        backoff: Duration::from_millis(20),
        ..MerchantConfig::default()
    })
    .await;
    let mut scenario = Scenario::load(&path).expect("the scenario is valid");
    scenario
        .override_load(&overrides)
        .expect("overrides are valid");
    let finished = execute(RunOptions {
        scenario,
        system: SystemUnderTest::Service {
            service: merchant.url(),
            gateway: gateway.url(),
        },
        report_dir: Some(report_dir(&format!("{idempotency:?}"))),
        admin_token: None,
        quiet: true,
    })
    .await
    .expect("the run completes");
    (finished, gateway)
}

/// References the gateway captured more than once, from the ledger alone.
fn double_charged_orders(gateway: &GatewaySim) -> Vec<String> {
    captures_by_order(gateway)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(r, _)| r)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_catches_the_double_charge_bug_with_its_order_ids() {
    let (run, gateway) = gate(
        "flaky-network.toml",
        Idempotency::Off,
        LoadOverrides {
            rate: Some(200.0),
            duration: Some(Duration::from_secs(5)),
            users: Some(256),
            seed: None,
        },
    )
    .await;
    let report = &run.report;
    let from_ledger = double_charged_orders(&gateway);

    assert!(
        !from_ledger.is_empty(),
        "flaky-network must provoke double charges in the buggy service"
    );
    assert_eq!(
        Verdict::from_passed(report.passed).exit_code(),
        1,
        "loadgen exits 1"
    );
    assert_eq!(
        report.money.counts.double_charges as usize,
        from_ledger.len(),
        "loadgen counts what the ledger shows"
    );
    let mut listed: Vec<String> = report
        .money
        .violations
        .iter()
        .filter(|v| v.kind == loadgen::ViolationKind::DoubleCharge)
        .map(|v| v.order_id.clone())
        .collect();
    listed.sort();
    assert_eq!(listed, from_ledger, "and lists exactly those order ids");
    let check = report
        .checks
        .iter()
        .find(|c| c.name == "double_charges")
        .expect("a double_charges check");
    assert!(!check.passed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixed_service_passes_at_a_thousand_orders_a_second() {
    // The full gate: 1,000 orders/s for 10 s through the flaky network.
    let (run, gateway) = gate(
        "flaky-network.toml",
        Idempotency::On,
        LoadOverrides {
            rate: Some(1000.0),
            duration: Some(Duration::from_secs(10)),
            users: Some(512),
            seed: None,
        },
    )
    .await;
    let report = &run.report;
    assert_every_check_passed(report);
    assert!(double_charged_orders(&gateway).is_empty());
    assert!(
        report.orders.total >= 10_000,
        "{} orders",
        report.orders.total
    );
    assert!(
        report.meta.achieved_rate >= 950.0,
        "achieved {} orders/s",
        report.meta.achieved_rate
    );
    assert!(
        report.latency.overall.corrected.p95_ms > 0.0,
        "p95 is reported"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixed_service_keeps_money_right_through_a_brownout() {
    // The outage window is 10 s..25 s after the gateway starts; 28 s covers it and the recovery.
    let (run, gateway) = gate(
        "brownout.toml",
        Idempotency::On,
        LoadOverrides {
            rate: Some(100.0),
            duration: Some(Duration::from_secs(28)),
            users: None,
            seed: None,
        },
    )
    .await;
    let report = &run.report;
    assert_eq!(
        report.money.violations_total,
        0,
        "{:?}",
        report.money.violations.first()
    );
    assert!(double_charged_orders(&gateway).is_empty());
    let faults = gateway.stats().faults;
    assert!(
        faults.get("http_503").copied().unwrap_or(0) > 100,
        "the window did pass: {faults:?}"
    );
}
